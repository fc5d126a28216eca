//! Comparing two env listings package by package: what was added, removed,
//! upgraded, downgraded, rebuilt or moved to another channel, with each
//! package's role and the size of a version change. Conda versions are
//! ordered by conda's rules (rattler), pip versions by PEP 440. Shared by
//! the `reference-*` checks and `gpaudit diff`; it reports differences as
//! data and decides no severity.

use crate::finding::{Code, Condition};
use crate::model::{Ecosystem, EnvListing, EnvPackage};
use crate::roles::{Role, Roles};
use pep508_rs::pep440_rs;
use rattler_conda_types::{MatchSpec, ParseStrictness, Version};
use serde::Serialize;
use std::cmp::Ordering;
use std::str::FromStr;

/// How a package differs between the two sides.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum ChangeKind {
    /// Only on the second side.
    Added,
    /// Only on the first side.
    Removed,
    Upgraded,
    Downgraded,
    /// Same version, another build.
    Rebuilt,
    /// Same version and build, another channel (or conda ↔ pip).
    ChannelChanged,
    /// The first side gives a requirement the second side's version fails.
    Unsatisfied,
}

impl ChangeKind {
    pub fn as_str(self) -> &'static str {
        match self {
            ChangeKind::Added => "added",
            ChangeKind::Removed => "removed",
            ChangeKind::Upgraded => "upgraded",
            ChangeKind::Downgraded => "downgraded",
            ChangeKind::Rebuilt => "rebuilt",
            ChangeKind::ChannelChanged => "channel-changed",
            ChangeKind::Unsatisfied => "unsatisfied",
        }
    }
}

/// The size of a version change: the first release segment that differs.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Magnitude {
    Major,
    Minor,
    Patch,
    /// Same version, other build.
    Build,
}

impl Magnitude {
    pub fn as_str(self) -> &'static str {
        match self {
            Magnitude::Major => "major",
            Magnitude::Minor => "minor",
            Magnitude::Patch => "patch",
            Magnitude::Build => "build",
        }
    }
}

/// One package that differs.
#[derive(Clone, Debug, Serialize)]
pub struct Change {
    pub name: String,
    pub kind: ChangeKind,
    pub role: Role,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub magnitude: Option<Magnitude>,
    /// The package on the first side (the reference).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub before: Option<EnvPackage>,
    /// The package on the second side (the env compared to it).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub after: Option<EnvPackage>,
}

impl Change {
    /// The finding code this difference is, seen from a reference env.
    pub fn code(&self) -> Code {
        match self.kind {
            ChangeKind::Added => Code::ReferenceExtra,
            ChangeKind::Removed => Code::ReferenceMissing,
            _ => Code::ReferenceDrift,
        }
    }

    /// The rule-book condition for this difference: the role, and for a
    /// version difference its size (`native-minor`, `python-major`).
    pub fn condition(&self) -> Condition {
        use Magnitude::*;
        use Role::*;
        match (self.kind, self.role, self.magnitude) {
            (ChangeKind::Added, _, _) => Condition::Extra,
            (ChangeKind::ChannelChanged, _, _) => Condition::Channel,
            (_, Core, _) => Condition::Core,
            (ChangeKind::Removed, Native, _) => Condition::Native,
            (ChangeKind::Removed, Python, _) => Condition::Python,
            (_, Native, Some(Major) | None) => Condition::NativeMajor,
            (_, Native, Some(Minor)) => Condition::NativeMinor,
            (_, Native, Some(Patch)) => Condition::NativePatch,
            (_, Native, Some(Build)) => Condition::NativeBuild,
            (_, Python, Some(Major) | None) => Condition::PythonMajor,
            (_, Python, Some(Minor)) => Condition::PythonMinor,
            (_, Python, Some(Patch)) => Condition::PythonPatch,
            (_, Python, Some(Build)) => Condition::PythonBuild,
        }
    }

    /// `numpy 1.20.1 → 1.24.3 (minor upgrade)` and the like.
    pub fn describe(&self) -> String {
        let before = self.before.as_ref().map(EnvPackage::describe);
        let after = self.after.as_ref().map(EnvPackage::describe);
        match self.kind {
            ChangeKind::Added => format!("{} {} added", self.name, after.unwrap_or_default()),
            ChangeKind::Removed => {
                format!("{} {} removed", self.name, before.unwrap_or_default())
            }
            ChangeKind::ChannelChanged => format!(
                "{} {}: channel {} → {}",
                self.name,
                after.unwrap_or_default(),
                channel_of(self.before.as_ref()),
                channel_of(self.after.as_ref())
            ),
            kind => format!(
                "{} {} → {} ({}{})",
                self.name,
                before.unwrap_or_default(),
                after.unwrap_or_default(),
                self.magnitude
                    .filter(|m| *m != Magnitude::Build)
                    .map(|m| format!("{} ", m.as_str()))
                    .unwrap_or_default(),
                kind.as_str()
            ),
        }
    }
}

fn channel_of(p: Option<&EnvPackage>) -> String {
    p.and_then(|p| p.channel.clone())
        .unwrap_or_else(|| "(unknown)".into())
}

/// Every package that differs between `before` and `after`, sorted by name.
pub fn compare(before: &EnvListing, after: &EnvListing, roles: &Roles) -> Vec<Change> {
    let a = before.by_name();
    let b = after.by_name();
    let mut changes = Vec::new();
    let change = |kind, magnitude, x: Option<&EnvPackage>, y: Option<&EnvPackage>| {
        // Named as the sides spell it (conda's `zope.interface`), not by
        // the PEP 503 key (`zope-interface`) the sides are matched on.
        let name = x.or(y).map(|p| p.name.clone()).unwrap_or_default();
        Change {
            role: roles.of(&name),
            name,
            kind,
            magnitude,
            before: x.cloned(),
            after: y.cloned(),
        }
    };
    for (key, x) in &a {
        match b.get(key) {
            None => changes.push(change(ChangeKind::Removed, None, Some(x), None)),
            Some(y) => {
                if let Some((kind, magnitude)) = difference(x, y) {
                    changes.push(change(kind, magnitude, Some(x), Some(y)));
                }
            }
        }
    }
    for (key, y) in &b {
        if !a.contains_key(key) {
            changes.push(change(ChangeKind::Added, None, None, Some(y)));
        }
    }
    changes.sort_by(|p, q| p.name.cmp(&q.name));
    changes
}

/// How `y` differs from `x` (same name), if it does.
fn difference(x: &EnvPackage, y: &EnvPackage) -> Option<(ChangeKind, Option<Magnitude>)> {
    let Some(yv) = &y.version else {
        // The second side does not say which version it has: nothing to
        // compare beyond presence.
        return None;
    };
    let Some(xv) = &x.version else {
        let spec = x.spec.as_deref()?;
        return (!satisfies(spec, y)).then_some((ChangeKind::Unsatisfied, None));
    };
    let pypi = x.ecosystem == Ecosystem::Pypi && y.ecosystem == Ecosystem::Pypi;
    match compare_versions(xv, yv, pypi) {
        Ordering::Less => Some((ChangeKind::Upgraded, Some(magnitude(xv, yv)))),
        Ordering::Greater => Some((ChangeKind::Downgraded, Some(magnitude(xv, yv)))),
        Ordering::Equal => {
            if let (Some(xb), Some(yb)) = (&x.build, &y.build) {
                if xb != yb {
                    return Some((ChangeKind::Rebuilt, Some(Magnitude::Build)));
                }
            }
            let channel_moved = match (&x.channel, &y.channel) {
                (Some(xc), Some(yc)) => !xc.eq_ignore_ascii_case(yc),
                _ => false,
            } || x.ecosystem != y.ecosystem;
            channel_moved.then_some((ChangeKind::ChannelChanged, None))
        }
    }
}

/// Order two versions: PEP 440 when both sides are pip packages and parse
/// as such, otherwise conda's order; text order only when neither parses.
pub fn compare_versions(a: &str, b: &str, pypi: bool) -> Ordering {
    if pypi {
        if let (Ok(x), Ok(y)) = (
            pep440_rs::Version::from_str(a),
            pep440_rs::Version::from_str(b),
        ) {
            return x.cmp(&y);
        }
    }
    match (Version::from_str(a), Version::from_str(b)) {
        (Ok(x), Ok(y)) => x.cmp(&y),
        _ => a.cmp(b),
    }
}

/// The first release segment (epoch, major, minor) where `a` and `b`
/// differ, in conda's reading of versions.
pub fn magnitude(a: &str, b: &str) -> Magnitude {
    let (Ok(x), Ok(y)) = (Version::from_str(a), Version::from_str(b)) else {
        return Magnitude::Major;
    };
    if x.epoch() != y.epoch() {
        return Magnitude::Major;
    }
    // The leading number of each release segment, local part left out:
    // `1.0rc1` → [1, 0], `1.13.1+cpu` → [1, 13]. A missing part is 0
    // (conda reads `3` and `3.0` as one version).
    let head = |v: &Version| -> Vec<Option<u64>> {
        v.strip_local()
            .segments()
            .take(2)
            .map(|s| s.components().next().and_then(|c| c.as_number()))
            .collect()
    };
    let (hx, hy) = (head(&x), head(&y));
    let part = |h: &[Option<u64>], i: usize| h.get(i).copied().unwrap_or(Some(0));
    if part(&hx, 0) != part(&hy, 0) {
        Magnitude::Major
    } else if part(&hx, 1) != part(&hy, 1) {
        Magnitude::Minor
    } else {
        Magnitude::Patch
    }
}

/// Whether `y`'s version meets a requirement of the first side.
fn satisfies(spec: &str, y: &EnvPackage) -> bool {
    let Some(version) = &y.version else {
        return true;
    };
    if y.ecosystem == Ecosystem::Pypi {
        if let (Ok(specifiers), Ok(v)) = (
            pep440_rs::VersionSpecifiers::from_str(spec),
            pep440_rs::Version::from_str(version),
        ) {
            return specifiers.contains(&v);
        }
    }
    let (Ok(spec), Ok(v)) = (
        MatchSpec::from_str(spec, ParseStrictness::Lenient),
        Version::from_str(version),
    ) else {
        // A requirement that cannot be evaluated is not held against the env.
        return true;
    };
    let version_ok = spec.version.as_ref().is_none_or(|vs| vs.matches(&v));
    let build_ok = match (&spec.build, &y.build) {
        (Some(matcher), Some(build)) => matcher.matches(build),
        _ => true,
    };
    version_ok && build_ok
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::EnvFormat;

    fn pkg(name: &str, version: &str, build: &str) -> EnvPackage {
        EnvPackage {
            name: name.into(),
            ecosystem: Ecosystem::Conda,
            version: Some(version.into()),
            build: (!build.is_empty()).then(|| build.into()),
            channel: None,
            spec: None,
        }
    }

    fn listing(packages: Vec<EnvPackage>) -> EnvListing {
        EnvListing {
            source: "t".into(),
            format: EnvFormat::CondaListExport,
            packages,
            warnings: Vec::new(),
        }
    }

    fn diff(a: Vec<EnvPackage>, b: Vec<EnvPackage>) -> Vec<String> {
        compare(&listing(a), &listing(b), &Roles::builtin())
            .iter()
            .map(|c| format!("{} {}", c.condition(), c.describe()))
            .collect()
    }

    #[test]
    fn kinds_roles_and_magnitudes() {
        let got = diff(
            vec![
                pkg("arcpy", "3.1", "py39_arcgispro_41759"),
                pkg("numpy", "1.20.1", "py39_0"),
                pkg("gdal", "3.4.1", "py39_arcgispro_0"),
                pkg("proj", "9.1.1", "h1"),
                pkg("requests", "2.28.1", "py39_0"),
                pkg("six", "1.16.0", "pyhd3eb1b0_1"),
                pkg("affine", "2.3.0", "pyhd3eb1b0_0"),
            ],
            vec![
                pkg("arcpy", "3.1", "py39_arcgispro_41760"),
                pkg("numpy", "1.24.3", "py39_0"),
                pkg("gdal", "3.4.3", "py39_arcgispro_0"),
                pkg("proj", "9.2.0", "h1"),
                pkg("requests", "3.0.0", "py39_0"),
                pkg("six", "1.16", "pyhd3eb1b0_1"),
                pkg("xgboost", "2.0.3", "py39_0"),
            ],
        );
        assert_eq!(
            got,
            [
                "python affine 2.3.0 pyhd3eb1b0_0 removed",
                "core arcpy 3.1 py39_arcgispro_41759 → 3.1 py39_arcgispro_41760 (rebuilt)",
                "native-patch gdal 3.4.1 py39_arcgispro_0 → 3.4.3 py39_arcgispro_0 (patch upgraded)",
                "core numpy 1.20.1 py39_0 → 1.24.3 py39_0 (minor upgraded)",
                "native-minor proj 9.1.1 h1 → 9.2.0 h1 (minor upgraded)",
                "python-major requests 2.28.1 py39_0 → 3.0.0 py39_0 (major upgraded)",
                "extra xgboost 2.0.3 py39_0 added",
            ]
        );
    }

    #[test]
    fn conda_order_not_semver() {
        assert_eq!(compare_versions("1.1", "1.1.0", false), Ordering::Equal);
        assert_eq!(
            compare_versions("1.1.1w", "1.1.1t", false),
            Ordering::Greater
        );
        assert_eq!(compare_versions("1!0.5", "2.0", false), Ordering::Greater);
        assert_eq!(compare_versions("1.0rc1", "1.0", false), Ordering::Less);
        assert_eq!(
            compare_versions("2023.01.10", "2023.1.10", false),
            Ordering::Equal
        );
        assert_eq!(magnitude("1!0.5", "0.5"), Magnitude::Major);
        assert_eq!(magnitude("3", "3.1"), Magnitude::Minor);
        assert_eq!(magnitude("1.1.1t", "1.1.1w"), Magnitude::Patch);
        // Local parts and pre-releases are not version parts.
        assert_eq!(magnitude("1.13.1+cpu", "1.13.1+cu117"), Magnitude::Patch);
        assert_eq!(magnitude("1.0rc1", "1.0"), Magnitude::Patch);
        assert_eq!(magnitude("2.0", "10.0"), Magnitude::Major);
        // PEP 440 for pip packages: a post release sorts after its release.
        assert_eq!(
            compare_versions("1.0.post1", "1.0", true),
            Ordering::Greater
        );
    }

    #[test]
    fn requirements_and_channels() {
        let mut loose = pkg("numpy", "", "");
        loose.version = None;
        loose.spec = Some("numpy >=1.20,<1.21".into());
        let got = diff(vec![loose.clone()], vec![pkg("numpy", "1.24.3", "py39_0")]);
        assert_eq!(
            got,
            ["core numpy numpy >=1.20,<1.21 → 1.24.3 py39_0 (unsatisfied)"]
        );
        assert!(diff(vec![loose], vec![pkg("numpy", "1.20.1", "py39_0")]).is_empty());

        let mut esri = pkg("tqdm", "4.64.1", "py_0");
        esri.channel = Some("esri".into());
        let mut main = esri.clone();
        main.channel = Some("pkgs/main".into());
        assert_eq!(
            diff(vec![esri], vec![main]),
            ["channel tqdm 4.64.1 py_0: channel esri → pkgs/main"]
        );

        // Presence-only entries (pip freeze URL lines) never drift.
        let mut any = pkg("certifi", "", "");
        any.version = None;
        assert!(diff(vec![any], vec![pkg("certifi", "2022.12.7", "py39_0")]).is_empty());
    }
}
