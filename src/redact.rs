//! Keeping secrets out of what gpaudit prints and stores: conda channel URLs
//! carry tokens (`/t/<token>/`) and credentials (`user:pass@`). Every URL
//! read from a listing goes through here before it reaches a message, a
//! report or a snapshot. Masking is rattler_redaction's; this module only
//! finds the URLs in free text.

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

#[cfg(test)]
mod tests {
    use super::*;

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
