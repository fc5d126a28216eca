//! Keeping secrets out of what gpaudit prints and stores: conda channel URLs
//! carry tokens (`/t/<token>/`) and credentials (`user:pass@`). Every URL
//! read from a listing goes through here before it reaches a message, a
//! report or a snapshot. Masking is rattler_redaction's; this module only
//! finds the URLs in free text. It also masks known secrets (the password,
//! tokens) in text, longest first, and makes text from outside (service
//! names, states, URLs, file names) safe to print on a terminal: control
//! characters, so ANSI/OSC escape sequences, are shown, not obeyed. JSON
//! output keeps text verbatim; only what goes to a terminal is neutralised.

/// The environment variable the administrator's password is read from by
/// default; no child process gpaudit starts ever sees it.
pub const DEFAULT_PASSWORD_ENV: &str = "GPAUDIT_PASSWORD";

use rattler_redaction::{redact_url_for_display, DEFAULT_REDACTION_STR};
use url::Url;

/// A URL with its password, user name, `/t/<token>` and signature masked.
pub fn url(url: &Url) -> Url {
    let mut out = redact_url_for_display(url, DEFAULT_REDACTION_STR).unwrap_or_else(|| url.clone());
    if !out.username().is_empty() {
        // A token is often passed as the user name alone.
        let _ = out.set_username(DEFAULT_REDACTION_STR);
    }
    out
}

/// The URL without any credential or token at all, for naming a channel.
pub fn strip(url: &Url) -> Url {
    let mut out = url.clone();
    let _ = out.set_username("");
    let _ = out.set_password(None);
    out.set_query(None);
    let segments: Vec<String> = out
        .path_segments()
        .map(|s| s.map(str::to_string).collect())
        .unwrap_or_default();
    if segments.len() >= 2 && segments[0] == "t" {
        out.set_path(&segments[2..].join("/"));
    }
    out
}

/// `text` with every URL in it masked.
pub fn text(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(at) = rest.find("://") {
        // The URL starts after the last separator before `://`.
        let start = rest[..at]
            .rfind(|c: char| c.is_whitespace() || "'\"`(<[=,".contains(c))
            .map_or(0, |i| i + 1);
        let end = rest[at..]
            .find(|c: char| c.is_whitespace() || "'\"`)>],".contains(c))
            .map_or(rest.len(), |i| at + i);
        out.push_str(&rest[..start]);
        let candidate = &rest[start..end];
        match Url::parse(candidate) {
            Ok(u) => out.push_str(url(&u).as_str()),
            // Not a URL we can read: keep the scheme, drop what could be a secret.
            Err(_) => out.push_str(&format!("{}://{DEFAULT_REDACTION_STR}", &rest[start..at])),
        }
        rest = &rest[end..];
    }
    out.push_str(rest);
    rattler_redaction::redact_signatures_in_text(&out, DEFAULT_REDACTION_STR).into_owned()
}

/// What a masked secret becomes.
pub const MASK: &str = "********";

/// `text` with every one of `secrets` (of 3 characters or more) masked.
/// Longest first: a token that contains the password is masked whole, not
/// left around a masked password.
pub fn secrets(text: &str, secrets: &[&str]) -> String {
    let mut sorted: Vec<&str> = secrets.iter().copied().filter(|s| s.len() >= 3).collect();
    sorted.sort_by_key(|s| std::cmp::Reverse(s.len()));
    sorted.dedup();
    let mut out = text.to_string();
    for secret in sorted {
        out = out.replace(secret, MASK);
    }
    out
}

/// Whether `c` must not reach a terminal as it is: control characters
/// (C0 but newline and tab, DEL, C1: ESC starts ANSI/OSC sequences, and
/// U+009B is a one-byte CSI) and the bidirectional overrides that reorder
/// what is shown.
fn is_unsafe(c: char) -> bool {
    (c.is_control() && c != '\n' && c != '\t')
        || matches!(c, '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}')
}

/// `text` safe for a terminal: every unsafe character is written as a
/// visible escape (`\x1b`, `\u{202e}`), so `ESC]0;title BEL` prints as
/// text instead of retitling the window. Newlines and tabs stay.
pub fn terminal_safe(text: &str) -> String {
    if !text.chars().any(is_unsafe) {
        return text.to_string();
    }
    let mut out = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        if !is_unsafe(c) {
            out.push(c);
        } else if (c as u32) < 0x100 {
            out.push_str(&format!("\\x{:02x}", c as u32));
        } else {
            out.push_str(&format!("\\u{{{:x}}}", c as u32));
        }
    }
    out
}

/// [`terminal_safe`] for one line (a table cell): newlines and tabs too.
pub fn terminal_safe_line(text: &str) -> String {
    terminal_safe(text).replace('\n', "\\n").replace('\t', " ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn regression_token_containing_the_password_is_masked_whole() {
        let password = "hunter2";
        let token = "tok-hunter2-xyz";
        let out = secrets(&format!("token {token} for {password}"), &[password, token]);
        assert_eq!(out, "token ******** for ********");
        assert!(!out.contains("tok-") && !out.contains("-xyz"), "{out}");
        assert_eq!(secrets("ab", &["ab"]), "ab", "too short to be a secret");
    }

    #[test]
    fn regression_escape_sequences_from_outside_are_shown_not_obeyed() {
        let name = "Evil\u{1b}]0;pwned\u{7}\u{1b}[31mRed\u{9b}2J\u{202e}txt";
        let safe = terminal_safe(name);
        assert!(!safe.chars().any(|c| c.is_control()), "{safe:?}");
        assert_eq!(
            safe,
            "Evil\\x1b]0;pwned\\x07\\x1b[31mRed\\x9b2J\\u{202e}txt"
        );
        assert_eq!(terminal_safe("a\tb\nc"), "a\tb\nc");
        assert_eq!(terminal_safe(&safe), safe, "idempotent");
        assert_eq!(terminal_safe_line("a\nb"), "a\\nb");
    }

    #[test]
    fn tokens_and_passwords_never_survive() {
        let t = text("failed: 'https://u:hunter2@host/t/tk-SECRET/esri/win-64/x.conda' and https://TOKEN@h/p");
        assert!(
            !t.contains("hunter2") && !t.contains("tk-SECRET") && !t.contains("TOKEN"),
            "{t}"
        );
        assert!(t.contains("esri/win-64/x.conda"), "{t}");
        assert_eq!(text("no url here"), "no url here");
        let u = Url::parse("https://user:pw@conda.example.com/t/abc123/esri").unwrap();
        assert_eq!(strip(&u).as_str(), "https://conda.example.com/esri");
        assert!(!url(&u).as_str().contains("abc123"));
    }
}
