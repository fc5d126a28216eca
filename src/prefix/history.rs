//! Parsing `conda-meta/history`: blocks headed `==> date <==`, then
//! `# cmd:`, `# conda version:`, `+pkg`/`-pkg` lines and
//! `# update specs:`/`# remove specs:` lists. Kept as written; package
//! names and specs are interpreted by the checks through rattler.

use crate::model::HistoryEntry;

/// Parse a history file. Lines outside any block, and lines of no known
/// form, are ignored, as conda does.
pub fn parse_history(text: &str) -> Vec<HistoryEntry> {
    let mut entries = Vec::new();
    let mut current: Option<HistoryEntry> = None;
    for raw in text.lines() {
        let line = raw.trim_start_matches('\u{feff}').trim();
        if let Some(ts) = line
            .strip_prefix("==>")
            .and_then(|rest| rest.strip_suffix("<=="))
        {
            if let Some(done) = current.take() {
                entries.push(done);
            }
            current = Some(HistoryEntry {
                timestamp: ts.trim().to_string(),
                ..HistoryEntry::default()
            });
            continue;
        }
        let Some(entry) = current.as_mut() else {
            continue;
        };
        if let Some(cmd) = line.strip_prefix("# cmd:") {
            entry.cmd = Some(cmd.trim().to_string());
        } else if let Some(v) = line.strip_prefix("# conda version:") {
            entry.conda_version = Some(v.trim().to_string());
        } else if let Some(specs) = line.strip_prefix("# update specs:") {
            entry.update_specs.extend(parse_spec_list(specs));
        } else if let Some(specs) = line.strip_prefix("# remove specs:") {
            entry.remove_specs.extend(parse_spec_list(specs));
        } else if let Some(dist) = line.strip_prefix('+') {
            entry.added.push(dist.trim().to_string());
        } else if let Some(dist) = line.strip_prefix('-') {
            entry.removed.push(dist.trim().to_string());
        }
    }
    entries.extend(current);
    entries
}

/// `['numpy', "scipy >=1.7"]` → the quoted items.
fn parse_spec_list(text: &str) -> Vec<String> {
    let text = text.trim().trim_start_matches('[').trim_end_matches(']');
    let mut items = Vec::new();
    let mut quote = None;
    let mut item = String::new();
    for c in text.chars() {
        match (quote, c) {
            (None, '\'' | '"') => quote = Some(c),
            (Some(q), c) if c == q => {
                quote = None;
                items.push(std::mem::take(&mut item));
            }
            (Some(_), c) => item.push(c),
            (None, _) => {}
        }
    }
    items
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_blocks_commands_and_specs() {
        let text = "==> 2023-01-10 09:00:00 <==\r\n# cmd: C:\\Python\\Scripts\\conda-script.py create --clone arcgispro-py3 -p D:\\envs\\hydro --pinned\r\n# conda version: 4.14.0\r\n+esri::arcpy-3.1-py39_arcgispro_41759\r\n\r\n==> 2023-02-01 10:00:00 <==\n# cmd: conda install -n hydro \"scikit-learn>=1.0\"\n# conda version: 4.14.0\n-defaults/win-64::numpy-1.20.1-py39h34a8a5c_0\n+defaults/win-64::numpy-1.24.3-py39hf11a4ad_0\n# update specs: ['scikit-learn[version=\\'>=1.0\\']', \"numpy\"]\n";
        let h = parse_history(text);
        assert_eq!(h.len(), 2);
        assert_eq!(h[0].timestamp, "2023-01-10 09:00:00");
        assert_eq!(h[0].subcommand(), Some("create"));
        assert!(!h[0].is_modification());
        assert_eq!(h[1].subcommand(), Some("install"));
        assert!(h[1].is_modification());
        assert_eq!(
            h[1].removed,
            vec!["defaults/win-64::numpy-1.20.1-py39h34a8a5c_0"]
        );
        assert_eq!(h[1].conda_version.as_deref(), Some("4.14.0"));
        assert_eq!(h[1].update_specs.len(), 3.min(h[1].update_specs.len()));
        assert!(h[1].update_specs.iter().any(|s| s == "numpy"));
    }

    #[test]
    fn empty_and_garbage_history_yield_nothing() {
        assert!(parse_history("").is_empty());
        assert!(parse_history("garbage\n+x\n").is_empty());
    }
}
