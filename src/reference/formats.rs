//! The text formats of an env listing: telling them apart by content and
//! parsing each into packages. Conda formats go through `rattler_conda_types`
//! (match specs, explicit specs, environment.yml, archive names); pip ones
//! through `pep508_rs`. No format is parsed by hand beyond splitting lines.

use super::{Ecosystem, EnvFormat, EnvPackage};
use crate::model::{channel_name, normalize_dist_name};
use pep508_rs::pep440_rs::Operator;
use pep508_rs::{Requirement, VersionOrUrl};
use rattler_conda_types::{
    package::CondaArchiveIdentifier, EnvironmentYaml, EqualityOperator, ExplicitEnvironmentSpec,
    MatchSpec, PackageName, ParseExplicitEnvironmentSpecError, ParseStrictness, StringMatcher,
    Version, VersionSpec,
};
use serde::Deserialize;
use std::str::FromStr;

/// Packages as read, each with where it was read (`line 4`, `item 2`).
#[derive(Debug, Default)]
pub struct Parsed {
    /// Each package with where the listing names it.
    pub packages: Vec<(EnvPackage, Place)>,
    pub warnings: Vec<String>,
}

/// Lines that carry content: trimmed, without blank and `#` comment lines,
/// with their 1-based numbers.
fn content_lines(text: &str) -> impl Iterator<Item = (usize, &str)> {
    text.lines()
        .enumerate()
        .map(|(i, l)| (i + 1, l.trim()))
        .filter(|(_, l)| !l.is_empty() && !l.starts_with('#'))
}

/// Tell the format from the content. `None` when nothing fits (an empty
/// listing is told apart by the caller).
pub fn detect(text: &str) -> Option<EnvFormat> {
    let trimmed = text.trim_start();
    if trimmed.starts_with('{') {
        // `conda env export --json` is an object too, without a `kind`.
        let value: Option<serde_json::Value> = serde_json::from_str(trimmed).ok();
        let is_env_export = value
            .as_ref()
            .is_some_and(|v| v.get("kind").is_none() && v.get("dependencies").is_some());
        return Some(if is_env_export {
            EnvFormat::EnvironmentYml
        } else {
            EnvFormat::Snapshot
        });
    }
    if trimmed.starts_with('[') {
        // Any item decides; an empty or broken array is handed to the
        // conda list parser, which says what is wrong with it.
        let Ok(items) = serde_json::from_str::<Vec<serde_json::Value>>(trimmed) else {
            return Some(EnvFormat::CondaListJson);
        };
        let conda_keys = ["build_string", "dist_name", "channel", "base_url"];
        let pip_keys = ["name", "version"];
        return if items
            .iter()
            .any(|i| conda_keys.iter().any(|k| i.get(k).is_some()))
        {
            Some(EnvFormat::CondaListJson)
        } else if items
            .iter()
            .any(|i| pip_keys.iter().all(|k| i.get(k).is_some()))
        {
            Some(EnvFormat::PipListJson)
        } else if items.is_empty() {
            Some(EnvFormat::CondaListJson)
        } else {
            None
        };
    }
    if content_lines(text).any(|(_, l)| l == "@EXPLICIT") {
        return Some(EnvFormat::CondaListExplicit);
    }
    if text
        .lines()
        .any(|l| l.starts_with("dependencies:") || l.starts_with("channels:"))
    {
        return Some(EnvFormat::EnvironmentYml);
    }
    if text
        .lines()
        .any(|l| l.trim_start().starts_with("# packages in environment at"))
    {
        return Some(EnvFormat::CondaList);
    }
    // The first content line decides, so that a bad line further down is
    // reported with its number rather than as an unknown format.
    let (_, first) = content_lines(text).next()?;
    if is_export_line(first) {
        return Some(EnvFormat::CondaListExport);
    }
    if is_conda_list_row(first) {
        return Some(EnvFormat::CondaList);
    }
    if first.starts_with('-') || parse_pip(strip_pip_comment(first)).is_ok() {
        return Some(EnvFormat::PipFreeze);
    }
    None
}

/// `name  version  build  [channel]`, a row of plain `conda list`.
fn is_conda_list_row(line: &str) -> bool {
    let cols: Vec<&str> = line.split_whitespace().collect();
    (3..=4).contains(&cols.len())
        && PackageName::try_from(cols[0]).is_ok()
        && Version::from_str(cols[1]).is_ok()
        && !cols[1].contains(['=', '<', '>', '*'])
}

/// A PEP 508 requirement. The name is checked first: pep508_rs 0.9 panics
/// on a name ending in `-`, `.` or `_` that is followed by an operator.
fn parse_pip(line: &str) -> Result<Requirement<pep508_rs::VerbatimUrl>, FormatError> {
    let name_end = line
        .find(|c: char| !(c.is_ascii_alphanumeric() || "-_.".contains(c)))
        .unwrap_or(line.len());
    let name = &line[..name_end];
    if name.is_empty() || !name.ends_with(|c: char| c.is_ascii_alphanumeric()) {
        return Err(FormatError::new(format!(
            "`{name}` is not a Python package name"
        )));
    }
    pep508_rs::PackageName::from_str(name).map_err(FormatError::new)?;
    check_extras(line[name_end..].trim_start())?;
    // pep508_rs 0.9 formats its errors by slicing bytes, which panics inside
    // a multi-byte character; PEP 508 requirements are ASCII.
    if let Some(c) = line.chars().find(|c| !c.is_ascii()) {
        return Err(FormatError::new(format!(
            "`{}` is not ASCII, as a requirement must be",
            c.escape_unicode()
        )));
    }
    // Checked above for the inputs known to panic; should another one reach
    // the parser (or its error formatting), its panic becomes this line's
    // error, not the audit's end.
    std::panic::catch_unwind(|| {
        Requirement::<pep508_rs::VerbatimUrl>::from_str(line).map_err(|e| e.to_string())
    })
    .map_err(|_| FormatError::new("not a requirement pip can read"))?
    .map_err(FormatError::new)
}

/// The `[extra, ...]` after a name: each extra a PEP 508 identifier
/// (letters/digits at both ends). pep508_rs 0.9 panics on an extra that
/// ends in `.`, `-` or `_` (`requests[socks_]`, `T[bu.1.`).
fn check_extras(rest: &str) -> Result<(), FormatError> {
    let Some(inner) = rest.strip_prefix('[') else {
        return Ok(());
    };
    let Some(end) = inner.find(']') else {
        return Err(FormatError::new("the extras' `[` is never closed"));
    };
    for extra in inner[..end]
        .split(',')
        .map(str::trim)
        .filter(|e| !e.is_empty())
    {
        let edges_ok = extra.starts_with(|c: char| c.is_ascii_alphanumeric())
            && extra.ends_with(|c: char| c.is_ascii_alphanumeric());
        if !edges_ok
            || !extra
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c))
        {
            return Err(FormatError::new(format!(
                "`{extra}` is not a valid extra name"
            )));
        }
    }
    Ok(())
}

/// Where in a listing a problem is: a line of a text listing, an item of
/// a JSON one, a URL of an explicit one, a dependency of an environment.yml.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Place {
    Line(usize),
    Item(usize),
    Url(usize),
    Dependency(usize),
    PipDependency(usize),
}

impl std::fmt::Display for Place {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Place::Line(n) => write!(f, "line {n}"),
            Place::Item(n) => write!(f, "item {n}"),
            Place::Url(n) => write!(f, "URL {n}"),
            Place::Dependency(n) => write!(f, "dependency {n}"),
            Place::PipDependency(n) => write!(f, "pip dependency {n}"),
        }
    }
}

/// Why a listing's text is not valid in its format, and where.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub struct FormatError {
    pub place: Option<Place>,
    pub message: String,
}

impl FormatError {
    pub fn new(message: impl std::fmt::Display) -> FormatError {
        FormatError {
            place: None,
            message: message.to_string(),
        }
    }

    /// The same problem, placed (the innermost place wins).
    pub fn at(mut self, place: Place) -> FormatError {
        self.place.get_or_insert(place);
        self
    }
}

impl std::fmt::Display for FormatError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.place {
            Some(place) => write!(f, "{place}: {}", self.message),
            None => f.write_str(&self.message),
        }
    }
}

/// `name=version=build`, the shape of `conda list --export`.
fn is_export_line(line: &str) -> bool {
    !line.contains("==")
        && !line.contains(char::is_whitespace)
        && line.split('=').count() == 3
        && line.split('=').all(|p| !p.is_empty())
}

/// Parse `text` as `format` (never [`EnvFormat::Prefix`] or
/// [`EnvFormat::Snapshot`], which are read elsewhere).
pub fn parse(format: EnvFormat, text: &str) -> Result<Parsed, FormatError> {
    match format {
        EnvFormat::CondaList => conda_list(text),
        EnvFormat::CondaListJson => conda_list_json(text),
        EnvFormat::CondaListExplicit => conda_list_explicit(text),
        EnvFormat::CondaListExport => conda_list_export(text),
        EnvFormat::EnvironmentYml => environment_yml(text),
        EnvFormat::PipFreeze => pip_freeze(text),
        EnvFormat::PipListJson => pip_list_json(text),
        EnvFormat::Prefix | EnvFormat::Snapshot => Err(FormatError::new(format!(
            "{} is not a text listing",
            format.describe()
        ))),
    }
}

fn conda_name(name: &str) -> Result<String, FormatError> {
    PackageName::try_from(name)
        .map(|n| n.as_normalized().to_string())
        .map_err(|e| FormatError::new(format!("`{name}` is not a conda package name: {e}")))
}

fn conda_version(name: &str, version: &str) -> Result<String, FormatError> {
    Version::from_str(version)
        .map(|_| version.to_string())
        .map_err(|e| FormatError::new(format!("`{name}`: `{version}` is not a conda version: {e}")))
}

fn is_pypi(channel: Option<&str>, build: Option<&str>) -> bool {
    channel.is_some_and(|c| c.eq_ignore_ascii_case("pypi")) || build == Some("pypi_0")
}

/// A package named in a pip-installed entry of a conda listing.
fn pypi_package(name: &str, version: Option<String>) -> EnvPackage {
    EnvPackage {
        name: normalize_dist_name(name),
        ecosystem: Ecosystem::Pypi,
        version,
        build: None,
        channel: Some("pypi".into()),
        spec: None,
    }
}

/// Plain `conda list`: `name version build [channel]` columns under a
/// `# packages in environment at ...` header.
fn conda_list(text: &str) -> Result<Parsed, FormatError> {
    let mut out = Parsed::default();
    for (n, line) in content_lines(text) {
        let at = Place::Line(n);
        let cols: Vec<&str> = line.split_whitespace().collect();
        let [name, version, build, rest @ ..] = cols.as_slice() else {
            return Err(FormatError::new("expected `name version build [channel]`").at(at));
        };
        if rest.len() > 1 {
            return Err(FormatError::new("expected `name version build [channel]`").at(at));
        }
        let channel = rest.first().copied();
        let package = if is_pypi(channel, Some(build)) {
            pypi_package(name, Some(version.to_string()))
        } else {
            let name = conda_name(name).map_err(|m| m.at(at))?;
            EnvPackage {
                version: Some(conda_version(&name, version).map_err(|m| m.at(at))?),
                name,
                ecosystem: Ecosystem::Conda,
                build: Some(build.to_string()),
                // conda list leaves the column empty for the default
                // channels, which one is not said: left unknown.
                channel: channel.map(channel_name),
                spec: None,
            }
        };
        out.packages.push((package, at));
    }
    Ok(out)
}

#[derive(Deserialize)]
struct CondaListEntry {
    name: String,
    version: String,
    #[serde(default)]
    build_string: Option<String>,
    #[serde(default)]
    channel: Option<String>,
    #[serde(default)]
    base_url: Option<String>,
}

fn conda_list_json(text: &str) -> Result<Parsed, FormatError> {
    let entries: Vec<CondaListEntry> = serde_json::from_str(text).map_err(FormatError::new)?;
    let mut out = Parsed::default();
    for (i, e) in entries.into_iter().enumerate() {
        let at = Place::Item(i + 1);
        let package = if is_pypi(e.channel.as_deref(), e.build_string.as_deref()) {
            pypi_package(&e.name, Some(e.version))
        } else {
            let name = conda_name(&e.name).map_err(|m| m.at(at))?;
            EnvPackage {
                version: Some(conda_version(&name, &e.version).map_err(|m| m.at(at))?),
                name,
                ecosystem: Ecosystem::Conda,
                build: e.build_string,
                channel: e.base_url.or(e.channel).as_deref().map(channel_name),
                spec: None,
            }
        };
        out.packages.push((package, at));
    }
    Ok(out)
}

fn conda_list_explicit(text: &str) -> Result<Parsed, FormatError> {
    // rattler's parser takes every line after @EXPLICIT as a URL; blank
    // lines are dropped first (Windows line endings are handled by `lines`).
    let cleaned: String = text
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| format!("{}\n", l.trim_end()))
        .collect();
    let spec = ExplicitEnvironmentSpec::from_str(&cleaned).map_err(|e| match e {
        // The URL itself is not repeated: it may carry a token.
        ParseExplicitEnvironmentSpecError::InvalidUrl(_, e) => {
            FormatError::new(format!("a line after @EXPLICIT is not a package URL ({e})"))
        }
        e => FormatError::new(e),
    })?;
    let mut out = Parsed::default();
    for (i, entry) in spec.packages.iter().enumerate() {
        let at = Place::Url(i + 1);
        let id = CondaArchiveIdentifier::try_from_url(&entry.url).ok_or_else(|| {
            FormatError::new(format!(
                "`{}` does not end in a conda package file name",
                crate::redact::url(&entry.url)
            ))
            .at(at)
        })?;
        let id = id.identifier;
        let name = conda_name(&id.name).map_err(|m| m.at(at))?;
        let version = conda_version(&name, &id.version).map_err(|m| m.at(at))?;
        // The channel is the URL without its `<subdir>/<file>` tail.
        let mut base = entry.url.clone();
        base.set_fragment(None);
        if let Ok(mut segments) = base.path_segments_mut() {
            segments.pop().pop();
        }
        out.packages.push((
            EnvPackage {
                name,
                ecosystem: Ecosystem::Conda,
                version: Some(version),
                build: Some(id.build_string),
                channel: Some(channel_name(base.as_str())),
                spec: None,
            },
            at,
        ));
    }
    Ok(out)
}

/// A package from a conda match spec: exact when the spec pins a version
/// (`name=1.2=build`, `name ==1.2`), otherwise the spec is kept as written.
fn from_match_spec(spec: &MatchSpec, written: &str) -> Result<EnvPackage, FormatError> {
    let name = spec
        .name
        .as_exact()
        .map(|n| n.as_normalized().to_string())
        .ok_or_else(|| FormatError::new(format!("`{written}` does not name one package")))?;
    let build = match &spec.build {
        Some(StringMatcher::Exact(b)) => Some(b.clone()),
        _ => None,
    };
    let exact = match &spec.version {
        Some(VersionSpec::Exact(EqualityOperator::Equals, v)) => Some(source_spelling(v, written)),
        _ => None,
    };
    if is_pypi(spec.channel.as_ref().map(|c| c.name()), build.as_deref()) {
        return Ok(pypi_package(&name, exact));
    }
    let loose = exact.is_none() && (spec.version.is_some() || spec.build.is_some());
    Ok(EnvPackage {
        name,
        ecosystem: Ecosystem::Conda,
        version: exact,
        build,
        channel: spec
            .channel
            .as_ref()
            .map(|c| channel_name(c.base_url.as_str())),
        spec: loose.then(|| spec.to_string()),
    })
}

/// The version as the source wrote it (`2023.01.10`, which conda displays
/// as `2023.1.10`): the token of `written` that parses to `v`.
fn source_spelling(v: &Version, written: &str) -> String {
    written
        .split(|c: char| c == '=' || c.is_whitespace() || "<>!,".contains(c))
        .skip(1)
        .find(|token| Version::from_str(token).is_ok_and(|t| t == *v))
        .map_or_else(|| v.to_string(), str::to_string)
}

fn conda_list_export(text: &str) -> Result<Parsed, FormatError> {
    let mut out = Parsed::default();
    for (n, line) in content_lines(text) {
        let at = Place::Line(n);
        let spec = MatchSpec::from_str(line, ParseStrictness::Lenient)
            .map_err(|e| FormatError::new(format!("`{line}`: {e}")).at(at))?;
        let package = from_match_spec(&spec, line).map_err(|m| m.at(at))?;
        out.packages.push((package, at));
    }
    Ok(out)
}

fn environment_yml(text: &str) -> Result<Parsed, FormatError> {
    let yaml = EnvironmentYaml::from_yaml_str(text).map_err(FormatError::new)?;
    let mut out = Parsed::default();
    for (i, spec) in yaml.match_specs().enumerate() {
        let at = Place::Dependency(i + 1);
        let written = spec.to_string();
        let package = from_match_spec(spec, &written).map_err(|m| m.at(at))?;
        out.packages.push((package, at));
    }
    if let Some(pip) = yaml.pip_specs() {
        for (i, line) in pip.iter().enumerate() {
            let at = Place::PipDependency(i + 1);
            match pip_requirement(line) {
                Ok(Some(package)) => out.packages.push((package, at)),
                Ok(None) => out
                    .warnings
                    .push(format!("{at}: `{line}` names no package; skipped")),
                Err(m) => return Err(m.at(at)),
            }
        }
    }
    Ok(out)
}

/// Drop a trailing ` # comment` from a requirements line.
fn strip_pip_comment(line: &str) -> &str {
    match line.find(" #") {
        Some(i) => line[..i].trim_end(),
        None => line,
    }
}

/// One `pip freeze` / requirements line. `Ok(None)` for option lines that
/// name no package (`-i URL`, an editable without `#egg=`).
pub(crate) fn pip_requirement(line: &str) -> Result<Option<EnvPackage>, FormatError> {
    let line = strip_pip_comment(line.trim());
    if let Some(rest) = line
        .strip_prefix("-e")
        .or_else(|| line.strip_prefix("--editable"))
    {
        let egg = rest
            .rsplit_once("#egg=")
            .map(|(_, n)| n.split('&').next().unwrap_or("").trim());
        return Ok(egg
            .filter(|n| pep508_rs::PackageName::from_str(n).is_ok())
            .map(|n| pypi_package(n, None)));
    }
    if line.starts_with('-') {
        return Ok(None);
    }
    let req = parse_pip(line)
        .map_err(|e| FormatError::new(format!("`{line}` is not a pip requirement: {e}")))?;
    let mut package = pypi_package(req.name.as_ref(), None);
    if let Some(VersionOrUrl::VersionSpecifier(specifiers)) = &req.version_or_url {
        let exact = match specifiers.iter().collect::<Vec<_>>().as_slice() {
            [one] if matches!(one.operator(), Operator::Equal | Operator::ExactEqual) => {
                Some(one.version().to_string())
            }
            _ => None,
        };
        if exact.is_some() {
            package.version = exact;
        } else if !specifiers.is_empty() {
            package.spec = Some(specifiers.to_string());
        }
    }
    Ok(Some(package))
}

fn pip_freeze(text: &str) -> Result<Parsed, FormatError> {
    let mut out = Parsed::default();
    for (n, line) in content_lines(text) {
        let at = Place::Line(n);
        match pip_requirement(line) {
            Ok(Some(package)) => out.packages.push((package, at)),
            Ok(None) if line.starts_with("-e") || line.starts_with("--editable") => {
                out.warnings.push(format!(
                    "{at}: editable install names no package (#egg= missing or invalid); skipped"
                ))
            }
            Ok(None) => {}
            Err(m) => return Err(m.at(at)),
        }
    }
    Ok(out)
}

#[derive(Deserialize)]
struct PipListEntry {
    name: String,
    version: String,
}

fn pip_list_json(text: &str) -> Result<Parsed, FormatError> {
    let entries: Vec<PipListEntry> = serde_json::from_str(text).map_err(FormatError::new)?;
    Ok(Parsed {
        packages: entries
            .into_iter()
            .enumerate()
            .map(|(i, e)| (pypi_package(&e.name, Some(e.version)), Place::Item(i + 1)))
            .collect(),
        warnings: Vec::new(),
    })
}
