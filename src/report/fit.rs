//! Fitting text into a terminal line without breaking a word or a path in
//! the middle: long paths are shortened from the middle (`C:\Program
//! Files\…\conda-meta`), long text is cut at a word boundary with `…`.

/// A path-like token (no spaces, a separator in it).
fn is_path(token: &str) -> bool {
    token.contains(['/', '\\']) && !token.contains(char::is_whitespace)
}

/// `token` shortened from the middle to at most `max` characters, keeping
/// its start (drive, share) and its end (the file name).
pub fn middle(token: &str, max: usize) -> String {
    let chars: Vec<char> = token.chars().collect();
    if chars.len() <= max {
        return token.to_string();
    }
    if max < 5 {
        return chars[..max].iter().collect();
    }
    let keep = max - 1;
    let head = keep * 2 / 5;
    let tail = keep - head;
    let mut out: String = chars[..head].iter().collect();
    out.push('…');
    out.extend(&chars[chars.len() - tail..]);
    out
}

/// Every path in `text` longer than `max` shortened from the middle.
pub fn shorten_paths(text: &str, max: usize) -> String {
    text.split(' ')
        .map(|word| {
            if is_path(word) {
                middle(word, max)
            } else {
                word.to_string()
            }
        })
        .collect::<Vec<_>>()
        .join(" ")
}

/// `text` on one line of at most `width` characters: cut at the last word
/// boundary that fits, with `…` to say so. A single word longer than the
/// line is shortened from the middle rather than split.
pub fn line(text: &str, width: usize) -> String {
    // Text from outside (service names, messages quoting files) reaches a
    // terminal: control characters are shown, never obeyed.
    let text: String = crate::redact::terminal_safe_line(
        &text
            .chars()
            .map(|c| if c == '\n' || c == '\r' { ' ' } else { c })
            .collect::<String>(),
    );
    if text.chars().count() <= width {
        return text;
    }
    let budget = width.saturating_sub(1);
    let mut out = String::new();
    for word in text.split(' ') {
        let need = if out.is_empty() {
            word.chars().count()
        } else {
            out.chars().count() + 1 + word.chars().count()
        };
        if need > budget {
            if out.is_empty() {
                out = middle(word, budget);
            }
            break;
        }
        if !out.is_empty() {
            out.push(' ');
        }
        out.push_str(word);
    }
    out.push('…');
    out
}

/// `text` padded (or fitted) to exactly `width` characters.
pub fn cell(text: &str, width: usize) -> String {
    let fitted = line(text, width);
    let n = fitted.chars().count();
    format!("{fitted}{}", " ".repeat(width.saturating_sub(n)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_is_cut_at_a_word_and_paths_from_the_middle() {
        assert_eq!(line("numpy breaks the pin", 12), "numpy…");
        assert_eq!(line("short", 12), "short");
        let p = r"C:\Program Files\ArcGIS\Server\framework\runtime\ArcGIS\bin\Python\envs\hydro";
        let m = middle(p, 30);
        assert_eq!(m.chars().count(), 30);
        assert!(
            m.starts_with(r"C:\Program") && m.ends_with(r"envs\hydro"),
            "{m}"
        );
        assert!(line(p, 20).chars().count() <= 20);
        let s = shorten_paths(&format!("{p} does not parse"), 24);
        assert!(s.ends_with("does not parse") && s.contains('…'), "{s}");
    }

    #[test]
    fn escape_sequences_in_outside_text_are_shown_not_obeyed() {
        let l = line("Hydro/\u{1b}]0;owned\u{7}Flood.GPServer", 80);
        assert!(!l.contains('\u{1b}') && !l.contains('\u{7}'), "{l:?}");
        assert!(l.contains("\\x1b"), "{l:?}");
    }

    #[test]
    fn no_line_is_longer_than_asked() {
        let text = "a-very-long-word-without-spaces and then more words";
        for w in 5..60 {
            assert!(line(text, w).chars().count() <= w, "{w}");
        }
    }
}
