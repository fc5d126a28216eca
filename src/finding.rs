//! Findings: what a check reports about the site. A finding is data, never an
//! error; its severity is assigned afterwards, in one place (`policy`).

use crate::location;
pub use crate::location::Location;
use serde::{Deserialize, Serialize};
use std::fmt;

/// How bad a finding is. Ordered from least to most severe.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Severity {
    Info,
    Warning,
    Error,
}

impl Severity {
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Info => "info",
            Severity::Warning => "warning",
            Severity::Error => "error",
        }
    }
}

impl fmt::Display for Severity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

macro_rules! codes {
    ($($variant:ident => $code:literal,)*) => {
        /// The stable identifier of a kind of finding. Documented one entry per
        /// code in `rules/README.md`; default severities live in `rules/rules.toml`.
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
        pub enum Code {
            $(#[serde(rename = $code)] $variant,)*
        }

        impl Code {
            /// Every code, in declaration order.
            pub const ALL: &'static [Code] = &[$(Code::$variant,)*];

            pub fn as_str(self) -> &'static str {
                match self {
                    $(Code::$variant => $code,)*
                }
            }

            pub fn parse(s: &str) -> Option<Code> {
                match s {
                    $($code => Some(Code::$variant),)*
                    _ => None,
                }
            }
        }
    };
}

codes! {
    EnvMissing => "env-missing",
    EnvNotArcgis => "env-not-arcgis",
    EnvReleaseMismatch => "env-release-mismatch",
    PinViolation => "pin-violation",
    PinFileMissing => "pin-file-missing",
    DependencyMissing => "dependency-missing",
    DependencyUnsatisfied => "dependency-unsatisfied",
    ConstraintViolated => "constraint-violated",
    PackageDuplicate => "package-duplicate",
    PackageOrphaned => "package-orphaned",
    PackageFilesMissing => "package-files-missing",
    PipInstalled => "pip-installed",
    PipClobbered => "pip-clobbered",
    PipEditable => "pip-editable",
    PthPathOutsideEnv => "pth-path-outside-env",
    SiteInconsistent => "site-inconsistent",
    DefaultEnvModified => "default-env-modified",
    ArcmapService => "arcmap-service",
    PerServiceEnvUnsupported => "per-service-env-unsupported",
    ReferenceDrift => "reference-drift",
    ReferenceMissing => "reference-missing",
    ReferenceExtra => "reference-extra",
    ServiceImportUnresolved => "service-import-unresolved",
    ServiceImportRemovedStdlib => "service-import-removed-stdlib",
    ServiceCodePython2 => "service-code-python2",
    ServiceCodeMissing => "service-code-missing",
    ServiceStateMismatch => "service-state-mismatch",
    ServiceStopped => "service-stopped",
    SiteMachinesMismatch => "site-machines-mismatch",
    UpgradeNeedsProup => "upgrade-needs-proup",
    UpgradePythonAbi => "upgrade-python-abi",
    UpgradePinConflict => "upgrade-pin-conflict",
    UpgradeUnownedFiles => "upgrade-unowned-files",
    UpgradePipPackages => "upgrade-pip-packages",
    UpgradeProupUnavailable => "upgrade-proup-unavailable",
    UpgradeUnsolvable => "upgrade-unsolvable",
    UpgradeWillChange => "upgrade-will-change",
    ScanError => "scan-error",
    InputCapped => "input-capped",
    FindingsCapped => "findings-capped",
    EnvPathRefused => "env-path-refused",
    WaiverExpired => "waiver-expired",
    WaiverUnmatched => "waiver-unmatched",
}

macro_rules! conditions {
    ($($variant:ident => $name:literal,)*) => {
        /// A circumstance a check saw that changes how bad its finding is:
        /// the `when` keys of `rules/rules.toml`. Typed, so a check cannot
        /// name one the rule book does not know, and the rule book is
        /// refused when it names one no check emits.
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum Condition {
            $($variant,)*
        }

        impl Condition {
            /// Every condition, in declaration order.
            pub const ALL: &'static [Condition] = &[$(Condition::$variant,)*];

            pub fn as_str(self) -> &'static str {
                match self {
                    $(Condition::$variant => $name,)*
                }
            }

            pub fn parse(s: &str) -> Option<Condition> {
                match s {
                    $($name => Some(Condition::$variant),)*
                    _ => None,
                }
            }
        }
    };
}

conditions! {
    Site11OrLater => "site-11-or-later",
    Core => "core",
    Native => "native",
    Python => "python",
    NativeMajor => "native-major",
    NativeMinor => "native-minor",
    NativePatch => "native-patch",
    NativeBuild => "native-build",
    PythonMajor => "python-major",
    PythonMinor => "python-minor",
    PythonPatch => "python-patch",
    PythonBuild => "python-build",
    Channel => "channel",
    Extra => "extra",
    Optional => "optional",
    Target => "target",
}

impl fmt::Display for Condition {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl fmt::Display for Code {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl PartialOrd for Code {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Code {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        self.as_str().cmp(other.as_str())
    }
}

/// One problem found in the site.
///
/// `condition` names the circumstance a check saw (for example
/// `site-11-or-later`); the rule book maps it to a severity, so checks never
/// decide severities themselves.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Finding {
    pub code: Code,
    pub severity: Severity,
    #[serde(skip)]
    pub condition: Option<Condition>,
    pub message: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub machine: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub env: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub env_path: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub package: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub service: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub expected: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub found: Option<String>,
    /// Where it points (files as read here, with a line when known). The
    /// JSON keeps schema 1's `source` string: `path[:line]`, comma-joined.
    #[serde(
        rename = "source",
        default,
        skip_serializing_if = "Vec::is_empty",
        serialize_with = "location::serialize_joined",
        deserialize_with = "location::deserialize_joined"
    )]
    pub locations: Vec<Location>,
    pub services: Vec<String>,
    /// The report's group this finding belongs to (set by the report).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub group: Option<String>,
}

impl Finding {
    /// A finding with only its code and message; the builder methods add the
    /// subject. Severity is a placeholder until `policy` assigns it.
    pub fn new(code: Code, message: impl Into<String>) -> Finding {
        Finding {
            code,
            severity: Severity::Error,
            condition: None,
            message: message.into(),
            machine: None,
            env: None,
            env_path: None,
            package: None,
            service: None,
            expected: None,
            found: None,
            locations: Vec::new(),
            services: Vec::new(),
            group: None,
        }
    }

    pub fn machine(mut self, machine: impl Into<String>) -> Self {
        self.machine = Some(machine.into());
        self
    }

    pub fn env(mut self, name: impl Into<String>, path: impl Into<String>) -> Self {
        self.env = Some(name.into());
        self.env_path = Some(path.into());
        self
    }

    pub fn package(mut self, package: impl Into<String>) -> Self {
        self.package = Some(package.into());
        self
    }

    pub fn service(mut self, service: impl Into<String>) -> Self {
        self.service = Some(service.into());
        self
    }

    pub fn expected(mut self, expected: impl Into<String>) -> Self {
        self.expected = Some(expected.into());
        self
    }

    pub fn found(mut self, found: impl Into<String>) -> Self {
        self.found = Some(found.into());
        self
    }

    /// Add a place the finding points to (once).
    pub fn location(mut self, location: impl Into<Location>) -> Self {
        let location = location.into();
        if !self.locations.contains(&location) {
            self.locations.push(location);
        }
        self
    }

    pub fn services(mut self, mut services: Vec<String>) -> Self {
        services.sort();
        services.dedup();
        self.services = services;
        self
    }

    pub fn condition(mut self, condition: Condition) -> Self {
        self.condition = Some(condition);
        self
    }

    /// The order findings are reported in: most severe first, then by code,
    /// machine, env, package and the rest, so output is deterministic.
    pub fn sort_key(&self) -> impl Ord + '_ {
        (
            std::cmp::Reverse(self.severity),
            self.code,
            (
                self.machine.as_deref(),
                self.env.as_deref(),
                self.env_path.as_deref(),
            ),
            (
                self.package.as_deref(),
                self.service.as_deref(),
                &self.locations,
            ),
            (
                self.expected.as_deref(),
                self.found.as_deref(),
                &self.message,
            ),
        )
    }
}

/// Sort findings into report order.
pub fn sort_findings(findings: &mut [Finding]) {
    findings.sort_by(|a, b| a.sort_key().cmp(&b.sort_key()));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_unique_kebab_case_and_round_trip() {
        let mut seen = std::collections::BTreeSet::new();
        for code in Code::ALL {
            let s = code.as_str();
            assert!(seen.insert(s), "duplicate code {s}");
            assert!(
                s.chars()
                    .all(|c| c.is_ascii_lowercase() || c == '-' || c.is_ascii_digit()),
                "{s} is not kebab-case"
            );
            assert_eq!(Code::parse(s), Some(*code));
            let json = serde_json::to_string(code).unwrap();
            assert_eq!(json, format!("\"{s}\""));
        }
    }

    #[test]
    fn errors_sort_before_warnings() {
        let mut findings = vec![
            Finding::new(Code::PipInstalled, "w").machine("B"),
            Finding::new(Code::EnvMissing, "e").machine("A"),
        ];
        findings[0].severity = Severity::Warning;
        sort_findings(&mut findings);
        assert_eq!(findings[0].code, Code::EnvMissing);
    }
}
