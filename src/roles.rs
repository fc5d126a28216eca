//! Package roles (`rules/roles.toml`): whether a package is part of the
//! ArcGIS core stack, a native library others are built against, or an
//! ordinary Python package. Roles decide how much a difference from a
//! reference env matters; the severities themselves live in the rule book.

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::fmt;

const BUILTIN: &str = include_str!("../rules/roles.toml");

/// What a package is to an ArcGIS environment.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Role {
    /// python, arcpy, arcgis, numpy...: any difference is another stack.
    Core,
    /// Compiled libraries with an ABI others build against (gdal, proj...).
    Native,
    /// Everything else.
    Python,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Core => "core",
            Role::Native => "native",
            Role::Python => "python",
        }
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RolesFile {
    core: RoleList,
    native: RoleList,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RoleList {
    packages: Vec<String>,
}

/// The role of every listed package; unlisted packages are [`Role::Python`].
#[derive(Clone, Debug)]
pub struct Roles {
    /// PEP 503 form of the name → role.
    by_name: BTreeMap<String, Role>,
    /// As listed in the file.
    listed: Vec<(String, Role)>,
}

/// A roles file that cannot be used: every problem, not just the first.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("rules/roles.toml: {}", problems.join("; "))]
pub struct RolesError {
    pub problems: Vec<String>,
}

impl Roles {
    pub fn builtin() -> Roles {
        match Roles::parse(BUILTIN) {
            Ok(roles) => roles,
            Err(e) => panic!("built-in rules/roles.toml is invalid: {e}"),
        }
    }

    pub fn parse(text: &str) -> Result<Roles, RolesError> {
        let file: RolesFile = toml::from_str(text).map_err(|e| RolesError {
            problems: vec![e.to_string()],
        })?;
        let mut by_name = BTreeMap::new();
        let mut listed = Vec::new();
        let mut problems = Vec::new();
        for (role, list) in [(Role::Core, file.core), (Role::Native, file.native)] {
            for name in list.packages {
                let key = crate::model::normalize_dist_name(&name);
                listed.push((name.clone(), role));
                if let Some(previous) = by_name.insert(key, role) {
                    problems.push(format!("`{name}` is listed as {previous} and as {role}"));
                }
            }
        }
        if problems.is_empty() {
            Ok(Roles { by_name, listed })
        } else {
            Err(RolesError { problems })
        }
    }

    /// The role of a package, by conda or (normalized) pip name.
    pub fn of(&self, name: &str) -> Role {
        self.by_name
            .get(&crate::model::normalize_dist_name(name))
            .copied()
            .unwrap_or(Role::Python)
    }

    /// The listed packages of a role, sorted.
    pub fn members(&self, role: Role) -> Vec<&str> {
        let mut names: Vec<&str> = self
            .listed
            .iter()
            .filter(|(_, r)| *r == role)
            .map(|(n, _)| n.as_str())
            .collect();
        names.sort();
        names
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builtin_roles_parse_without_duplicates() {
        let roles = Roles::parse(BUILTIN).expect("roles.toml parses");
        assert_eq!(roles.of("arcpy"), Role::Core);
        assert_eq!(roles.of("NumPy"), Role::Core);
        assert_eq!(roles.of("libgdal"), Role::Native);
        assert_eq!(roles.of("requests"), Role::Python);
    }

    #[test]
    fn a_package_in_two_roles_is_refused() {
        let err =
            Roles::parse("[core]\npackages=['gdal']\n[native]\npackages=['gdal']\n").unwrap_err();
        assert!(err.to_string().contains("`gdal`"), "{err}");
        assert!(Roles::parse("[core]\npackages=[]\n[native]\npackages=[]\nx=1\n").is_err());
    }

    #[test]
    fn every_role_member_is_documented_in_rules_readme() {
        let readme = include_str!("../rules/README.md");
        let roles = Roles::builtin();
        for role in [Role::Core, Role::Native] {
            for name in roles.members(role) {
                assert!(readme.contains(&format!("`{name}`")), "{name} ({role})");
            }
        }
    }
}
