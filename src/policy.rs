//! Policy: the user's `gpaudit.toml` (severity overrides and waivers) and the
//! one place where findings get their final severity. Checks never see it.

use crate::finding::{Code, Finding, Severity};
use crate::paths;
use crate::rules::RuleBook;
use jiff::civil::Date;
use serde::Deserialize;
use std::collections::BTreeMap;
use std::path::Path;

/// The codes the policy itself reports (about waivers); every other code
/// is owned by a check.
pub const CODES: &[Code] = &[Code::WaiverExpired, Code::WaiverUnmatched];

/// A severity a user can give a code, `off` to drop it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Level {
    Error,
    Warning,
    Info,
    Off,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ConfigToml {
    #[serde(default)]
    severity: BTreeMap<String, Level>,
    #[serde(default)]
    waiver: Vec<toml::Spanned<WaiverToml>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct WaiverToml {
    code: String,
    machine: Option<String>,
    env: Option<String>,
    package: Option<String>,
    service: Option<String>,
    reason: String,
    expires: Option<String>,
}

/// A waiver: findings it matches are left out of the report.
#[derive(Clone, Debug)]
pub struct Waiver {
    pub code: Code,
    pub machine: Option<String>,
    pub env: Option<String>,
    pub package: Option<String>,
    pub service: Option<String>,
    pub reason: String,
    pub expires: Option<Date>,
    /// Where the waiver is written (`gpaudit.toml`, line 12).
    pub origin: crate::location::Location,
}

impl Waiver {
    fn matches(&self, f: &Finding) -> bool {
        let eq = |want: &Option<String>, have: &Option<String>| match want {
            None => true,
            Some(w) => have.as_deref().is_some_and(|h| h.eq_ignore_ascii_case(w)),
        };
        self.code == f.code
            && eq(&self.machine, &f.machine)
            && eq(&self.env, &f.env)
            && eq(&self.package, &f.package)
            && self.service.as_ref().is_none_or(|s| {
                // Service keys ignore case like machines, envs and packages:
                // ArcGIS Server's folder and service names do.
                f.service
                    .as_deref()
                    .is_some_and(|x| x.eq_ignore_ascii_case(s))
                    || f.services.iter().any(|x| x.eq_ignore_ascii_case(s))
            })
    }

    fn describe(&self) -> String {
        let mut parts = vec![format!("code = {}", self.code)];
        for (k, v) in [
            ("machine", &self.machine),
            ("env", &self.env),
            ("package", &self.package),
            ("service", &self.service),
        ] {
            if let Some(v) = v {
                parts.push(format!("{k} = {v}"));
            }
        }
        parts.join(", ")
    }
}

/// The user's policy.
#[derive(Clone, Debug, Default)]
pub struct Policy {
    pub overrides: BTreeMap<Code, Level>,
    pub waivers: Vec<Waiver>,
}

/// A `gpaudit.toml` that cannot be used; every problem is listed.
#[derive(Debug, thiserror::Error)]
#[error("{path}: {}", problems.join("; "))]
pub struct PolicyError {
    pub path: String,
    pub problems: Vec<String>,
}

fn line_of(text: &str, offset: usize) -> usize {
    text[..offset.min(text.len())].matches('\n').count() + 1
}

impl Policy {
    pub fn load(path: &Path) -> Result<Policy, PolicyError> {
        let display = paths::display(path);
        let text = crate::read::read_text_io(path).map_err(|e| PolicyError {
            path: display.clone(),
            problems: vec![format!("cannot read: {e}")],
        })?;
        Policy::parse(&text, &display)
    }

    /// The policy an audit uses: the file given, else `gpaudit.toml` in
    /// `dir` (beside the audited input) when there is one, else none.
    pub fn for_audit(explicit: Option<&Path>, dir: &Path) -> Result<Policy, PolicyError> {
        if let Some(path) = explicit {
            return Policy::load(path);
        }
        let beside = dir.join("gpaudit.toml");
        if beside.is_file() {
            Policy::load(&beside)
        } else {
            Ok(Policy::default())
        }
    }

    pub fn parse(text: &str, path: &str) -> Result<Policy, PolicyError> {
        let text = text.strip_prefix('\u{feff}').unwrap_or(text);
        let fail = |problems| PolicyError {
            path: path.to_string(),
            problems,
        };
        let raw: ConfigToml = toml::from_str(text).map_err(|e| fail(vec![e.to_string()]))?;
        let file_name = Path::new(path)
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_else(|| path.to_string());
        let mut problems = Vec::new();
        let mut overrides = BTreeMap::new();
        for (code, level) in raw.severity {
            match Code::parse(&code) {
                Some(c) => {
                    overrides.insert(c, level);
                }
                None => problems.push(format!("[severity]: unknown code `{code}`")),
            }
        }
        let mut waivers = Vec::new();
        for spanned in raw.waiver {
            let line = line_of(text, spanned.span().start);
            let w = spanned.into_inner();
            let code = Code::parse(&w.code);
            if code.is_none() {
                problems.push(format!("line {line}: waiver has unknown code `{}`", w.code));
            }
            if w.reason.trim().is_empty() {
                problems.push(format!("line {line}: waiver needs a reason"));
            }
            let expires = match w.expires.as_deref().map(str::parse::<Date>) {
                None => None,
                Some(Ok(d)) => Some(d),
                Some(Err(e)) => {
                    problems.push(format!(
                        "line {line}: waiver expires `{}` is not a date (YYYY-MM-DD): {e}",
                        w.expires.as_deref().unwrap_or_default()
                    ));
                    None
                }
            };
            if let Some(code) = code {
                waivers.push(Waiver {
                    code,
                    machine: w.machine,
                    env: w.env,
                    package: w.package,
                    service: w.service,
                    reason: w.reason,
                    expires,
                    origin: crate::location::Location::at(file_name.as_str(), line),
                });
            }
        }
        if problems.is_empty() {
            Ok(Policy { overrides, waivers })
        } else {
            Err(fail(problems))
        }
    }

    /// Give every finding its severity, drop those turned off or waived, and
    /// report waivers that expired or matched nothing.
    pub fn apply(&self, findings: Vec<Finding>, rules: &RuleBook, today: Date) -> Applied {
        let mut used = vec![false; self.waivers.len()];
        let mut meta = Vec::new();
        for w in &self.waivers {
            if let Some(expires) = w.expires.filter(|d| *d < today) {
                meta.push(
                    Finding::new(
                        Code::WaiverExpired,
                        format!(
                            "waiver at {} ({}) expired on {expires} and no longer applies; reason was: {}",
                            w.origin,
                            w.describe(),
                            w.reason
                        ),
                    )
                    .expected(format!("expires on or after {today}"))
                    .found(format!("expired {expires}"))
                    .location(w.origin.clone()),
                );
            }
        }
        let active = |w: &Waiver| w.expires.is_none_or(|d| d >= today);
        let mut kept = Vec::new();
        let mut waived = 0;
        for mut f in findings {
            let Some(severity) = self.severity(rules, f.code, f.condition) else {
                continue;
            };
            f.severity = severity;
            if let Some(i) = self.waivers.iter().position(|w| active(w) && w.matches(&f)) {
                used[i] = true;
                // Mark every other waiver that matches too: it is not unused.
                for (j, w) in self.waivers.iter().enumerate() {
                    if active(w) && w.matches(&f) {
                        used[j] = true;
                    }
                }
                waived += 1;
                continue;
            }
            kept.push(f);
        }
        for (w, used) in self.waivers.iter().zip(used) {
            if !used && active(w) {
                meta.push(
                    Finding::new(
                        Code::WaiverUnmatched,
                        format!(
                            "waiver at {} ({}) matched no finding: delete it if the problem is fixed",
                            w.origin,
                            w.describe()
                        ),
                    )
                    .location(w.origin.clone()),
                );
            }
        }
        for mut f in meta {
            if let Some(severity) = self.severity(rules, f.code, None) {
                f.severity = severity;
                kept.push(f);
            }
        }
        crate::finding::sort_findings(&mut kept);
        Applied {
            findings: kept,
            waived,
        }
    }

    /// The final severity of a code (None: turned off).
    fn severity(
        &self,
        rules: &RuleBook,
        code: Code,
        condition: Option<crate::Condition>,
    ) -> Option<Severity> {
        match self.overrides.get(&code) {
            Some(Level::Off) => None,
            Some(Level::Error) => Some(Severity::Error),
            Some(Level::Warning) => Some(Severity::Warning),
            Some(Level::Info) => Some(Severity::Info),
            None => Some(rules.severity(code, condition)),
        }
    }
}

/// Findings after policy.
#[derive(Debug)]
pub struct Applied {
    pub findings: Vec<Finding>,
    pub waived: usize,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn today() -> Date {
        "2026-11-21".parse().unwrap()
    }

    #[test]
    fn overrides_conditions_and_off() {
        let rules = RuleBook::builtin();
        let policy = Policy::parse(
            "[severity]\npip-installed = 'info'\npin-file-missing = 'off'\n",
            "gpaudit.toml",
        )
        .unwrap();
        let findings = vec![
            Finding::new(Code::PipInstalled, "a"),
            Finding::new(Code::PinFileMissing, "b"),
            Finding::new(Code::ArcmapService, "c").condition(crate::Condition::Site11OrLater),
        ];
        let out = policy.apply(findings, &rules, today());
        let got: Vec<_> = out.findings.iter().map(|f| (f.code, f.severity)).collect();
        assert_eq!(
            got,
            vec![
                (Code::ArcmapService, Severity::Error),
                (Code::PipInstalled, Severity::Info)
            ]
        );
    }

    #[test]
    fn issue_13_item_13_waiver_service_matching_ignores_case() {
        let rules = RuleBook::builtin();
        let policy = Policy::parse(
            "[[waiver]]\ncode = 'service-code-missing'\nservice = 'hydro/flood.gpserver'\nreason = 'r'\n\n[[waiver]]\ncode = 'pip-installed'\nservice = 'HYDRO/FLOOD.GPServer'\nreason = 'r'\n",
            "gpaudit.toml",
        )
        .unwrap();
        let findings = vec![
            Finding::new(Code::ServiceCodeMissing, "a").service("Hydro/Flood.GPServer"),
            Finding::new(Code::PipInstalled, "b").services(vec!["Hydro/Flood.GPServer".into()]),
        ];
        let out = policy.apply(findings, &rules, today());
        assert_eq!(out.waived, 2, "{:?}", out.findings);
    }

    #[test]
    fn waivers_match_expire_and_report_unused() {
        let rules = RuleBook::builtin();
        let policy = Policy::parse(
            r#"
[[waiver]]
code = "pin-violation"
env = "HYDRO"
package = "numpy"
reason = "validated"
expires = "2027-03-31"

[[waiver]]
code = "pip-installed"
reason = "old"
expires = "2026-01-01"

[[waiver]]
code = "env-missing"
machine = "GIS9"
reason = "typo"
"#,
            "site/gpaudit.toml",
        )
        .unwrap();
        let findings = vec![
            Finding::new(Code::PinViolation, "x")
                .env("hydro", "/e/hydro")
                .package("numpy"),
            Finding::new(Code::PinViolation, "y")
                .env("hydro", "/e/hydro")
                .package("scipy"),
            Finding::new(Code::PipInstalled, "z"),
        ];
        let out = policy.apply(findings, &rules, today());
        assert_eq!(out.waived, 1);
        let got: Vec<_> = out
            .findings
            .iter()
            .map(|f| {
                let source = crate::location::joined(&f.locations);
                (
                    f.code,
                    f.package.as_deref(),
                    (!source.is_empty()).then_some(source),
                )
            })
            .collect();
        assert_eq!(
            got,
            vec![
                (Code::PinViolation, Some("scipy"), None),
                (Code::PipInstalled, None, None),
                (Code::WaiverExpired, None, Some("gpaudit.toml:9".into())),
                (Code::WaiverUnmatched, None, Some("gpaudit.toml:14".into())),
            ]
        );
    }

    #[test]
    fn every_config_problem_is_reported() {
        let err = Policy::parse(
            "[severity]\nnope = 'info'\n[[waiver]]\ncode = 'bad'\nreason = ''\nexpires = 'soon'\n",
            "gpaudit.toml",
        )
        .unwrap_err();
        let text = err.to_string();
        for needle in ["nope", "`bad`", "needs a reason", "soon", "line 3"] {
            assert!(text.contains(needle), "{needle}: {text}");
        }
        let err =
            Policy::parse("[severity]\npip-installed = 'loud'\n", "gpaudit.toml").unwrap_err();
        assert!(err.to_string().contains("line 2"), "{err}");
        let err = Policy::parse("[[waiver]]\ncode='scan-error'\nreason='x'\nenvv='y'\n", "g")
            .unwrap_err();
        assert!(err.to_string().contains("envv"), "{err}");
    }
}
