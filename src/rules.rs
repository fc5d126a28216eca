//! The rule book: default severity of every finding code, and the severity a
//! code takes under a named condition. Built-in data is `rules/rules.toml`,
//! embedded in the binary and parsed strictly, like user configuration.

use crate::finding::{Code, Condition, Severity};
use serde::Deserialize;
use std::collections::BTreeMap;

const BUILTIN: &str = include_str!("../rules/rules.toml");

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RulesFile {
    rule: Vec<RuleEntry>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RuleEntry {
    code: String,
    severity: Severity,
    title: String,
    #[serde(default)]
    when: BTreeMap<String, Severity>,
}

/// One code's entry in the rule book.
#[derive(Clone, Debug)]
pub struct Rule {
    pub code: Code,
    pub severity: Severity,
    pub title: String,
    pub when: BTreeMap<Condition, Severity>,
}

/// Every rule, indexed by code.
#[derive(Clone, Debug)]
pub struct RuleBook {
    rules: BTreeMap<Code, Rule>,
}

impl RuleBook {
    /// The rule book compiled into the binary.
    pub fn builtin() -> RuleBook {
        // The embedded file is checked by a unit test; failing here would be a
        // build defect, not a user input problem.
        match RuleBook::parse(BUILTIN) {
            Ok(book) => book,
            Err(problems) => panic!("built-in rules/rules.toml is invalid: {problems:?}"),
        }
    }

    /// Parse a rule book, reporting every problem rather than the first.
    pub fn parse(text: &str) -> Result<RuleBook, Vec<String>> {
        let file: RulesFile = toml::from_str(text).map_err(|e| vec![e.to_string()])?;
        let mut problems = Vec::new();
        let mut rules = BTreeMap::new();
        for entry in file.rule {
            let Some(code) = Code::parse(&entry.code) else {
                problems.push(format!("unknown code `{}`", entry.code));
                continue;
            };
            let mut when = BTreeMap::new();
            for (key, severity) in entry.when {
                match Condition::parse(&key) {
                    Some(c) => {
                        when.insert(c, severity);
                    }
                    None => problems.push(format!(
                        "code `{code}`: `when` names `{key}`, which no check reports (conditions: {})",
                        Condition::ALL
                            .iter()
                            .map(|c| c.as_str())
                            .collect::<Vec<_>>()
                            .join(", ")
                    )),
                }
            }
            let rule = Rule {
                code,
                severity: entry.severity,
                title: entry.title,
                when,
            };
            if rules.insert(code, rule).is_some() {
                problems.push(format!("code `{code}` is listed twice"));
            }
        }
        for code in Code::ALL {
            if !rules.contains_key(code) {
                problems.push(format!("code `{code}` has no rule"));
            }
        }
        if problems.is_empty() {
            Ok(RuleBook { rules })
        } else {
            Err(problems)
        }
    }

    pub fn rule(&self, code: Code) -> &Rule {
        &self.rules[&code]
    }

    /// The severity of a finding of `code` seen under `condition`, before
    /// any user override.
    pub fn severity(&self, code: Code, condition: Option<Condition>) -> Severity {
        let rule = self.rule(code);
        condition
            .and_then(|c| rule.when.get(&c).copied())
            .unwrap_or(rule.severity)
    }

    pub fn iter(&self) -> impl Iterator<Item = &Rule> {
        self.rules.values()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builtin_rule_book_covers_every_code_once() {
        let book = RuleBook::parse(BUILTIN).expect("rules.toml parses");
        assert_eq!(book.iter().count(), Code::ALL.len());
    }

    #[test]
    fn every_code_is_documented_in_rules_readme() {
        let readme = include_str!("../rules/README.md");
        for code in Code::ALL {
            assert!(
                readme.contains(&format!("### `{code}`")),
                "rules/README.md has no entry `### `{code}``"
            );
        }
    }

    #[test]
    fn conditions_change_severity() {
        let book = RuleBook::builtin();
        assert_eq!(book.severity(Code::ArcmapService, None), Severity::Warning);
        assert_eq!(
            book.severity(Code::ArcmapService, Some(Condition::Site11OrLater)),
            Severity::Error
        );
    }

    #[test]
    fn a_misspelt_when_key_is_refused_rather_than_ignored() {
        let text = BUILTIN.replace("site-11-or-later = ", "site-11-or-latr = ");
        let err = RuleBook::parse(&text).unwrap_err();
        assert!(
            err.iter().any(|p| p.contains("`site-11-or-latr`")),
            "{err:?}"
        );
    }

    #[test]
    fn unknown_keys_and_codes_are_all_reported() {
        let err = RuleBook::parse("[[rule]]\ncode='x'\nseverity='error'\ntitle='t'\n").unwrap_err();
        assert!(err.iter().any(|p| p.contains("unknown code `x`")));
        assert!(err.iter().any(|p| p.contains("env-missing")));
        let err = RuleBook::parse("[[rule]]\ncode='x'\nseverity='error'\ntitle='t'\nbogus=1\n")
            .unwrap_err();
        assert!(err[0].contains("bogus"), "{err:?}");
    }
}
