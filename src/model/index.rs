//! One env's package index, built once per env from the model and read by
//! every check that looks up a package or a module: every record of a
//! package name (and the one rule that says which counts when there are
//! several), who owns each `.dist-info`/`.egg-info`, and which top-level
//! modules are importable and who provides them, with case kept (Python
//! matches imports case-sensitively, on Windows too: PEP 235).

use super::{normalize_dist_name, Env, Package, PipDist};
use std::cmp::Ordering;
use std::collections::{BTreeMap, HashMap};

/// Who provides a top-level module or owns a dist-info.
#[derive(Clone, Copy, Debug)]
pub enum Provider<'a> {
    Conda(&'a Package),
    Pip(&'a PipDist),
    /// An entry of site-packages nothing owns (copied in by hand); the
    /// path is as the scan listed it.
    Unowned(&'a str),
}

impl Provider<'_> {
    /// The package or dist name, or the path of an unowned entry.
    pub fn name(&self) -> &str {
        match self {
            Provider::Conda(p) => p.name(),
            Provider::Pip(d) => &d.name,
            Provider::Unowned(path) => path,
        }
    }
}

/// The duplicate rule: of several records of one package name, the one
/// with the highest version counts (then the highest build number, then
/// the last record file by name), the record the latest install wrote.
/// `package-duplicate` reports the others.
pub fn counts_before(a: &Package, b: &Package) -> Ordering {
    b.record
        .version
        .cmp(&a.record.version)
        .then(b.record.build_number.cmp(&a.record.build_number))
        .then(b.file.cmp(&a.file))
}

/// The record of `name` that counts in `packages`, by the duplicate rule.
pub fn counting<'a>(packages: &'a [Package], name: &str) -> Option<&'a Package> {
    packages
        .iter()
        .filter(|p| p.name() == name)
        .min_by(|a, b| counts_before(a, b))
}

#[derive(Clone, Debug)]
pub struct EnvIndex<'a> {
    pub env: &'a Env,
    /// Package name → all its records, the one that counts first.
    by_name: BTreeMap<&'a str, Vec<&'a Package>>,
    /// Top-level module (case kept) → who provides it. A namespace
    /// package's parts are recorded as `google.protobuf`.
    modules: HashMap<&'a str, Vec<Provider<'a>>>,
    /// Namespace package (no `__init__.py`, case kept) → its parts.
    namespaces: HashMap<&'a str, Vec<&'a str>>,
    /// Normalized dist name (PEP 503) → owner of its dist-info.
    dists: HashMap<String, Provider<'a>>,
    /// Whether the env's records name their modules at all (a snapshot
    /// written before gpaudit recorded modules has none).
    modules_known: bool,
}

impl<'a> EnvIndex<'a> {
    pub fn new(env: &'a Env) -> EnvIndex<'a> {
        let mut by_name: BTreeMap<&str, Vec<&Package>> = BTreeMap::new();
        for p in &env.packages {
            by_name.entry(p.name()).or_default().push(p);
        }
        for records in by_name.values_mut() {
            records.sort_by(|a, b| counts_before(a, b));
        }
        let mut modules: HashMap<&str, Vec<Provider>> = HashMap::new();
        let mut dists = HashMap::new();
        for records in by_name.values() {
            let p = records[0];
            for m in &p.modules {
                modules
                    .entry(m.as_str())
                    .or_default()
                    .push(Provider::Conda(p));
            }
            dists.insert(normalize_dist_name(p.name()), Provider::Conda(p));
            // The dist-info names it installs (`tables` for pytables).
            for d in &p.dists {
                dists
                    .entry(normalize_dist_name(d))
                    .or_insert(Provider::Conda(p));
            }
        }
        for d in &env.pip {
            for m in &d.modules {
                modules
                    .entry(m.as_str())
                    .or_default()
                    .push(Provider::Pip(d));
            }
            dists.insert(normalize_dist_name(&d.name), Provider::Pip(d));
        }
        let python = by_name
            .get("python")
            .and_then(|r| super::major_minor(&r[0].record.version.as_str()));
        for path in &env.unowned {
            let file = path.rsplit(['/', '\\']).next().unwrap_or(path);
            // An extension built for another Python does not load.
            let foreign =
                super::extension_python(file).is_some_and(|tag| python.is_some_and(|p| p != tag));
            if foreign {
                continue;
            }
            if let Some(m) = unowned_module(path) {
                modules.entry(m).or_default().push(Provider::Unowned(path));
            }
        }
        let mut namespaces: HashMap<&str, Vec<&str>> = HashMap::new();
        for m in modules.keys() {
            if let Some((top, part)) = m.split_once('.') {
                namespaces.entry(top).or_default().push(part);
            }
        }
        let modules_known =
            env.packages.is_empty() || env.packages.iter().any(|p| !p.modules.is_empty());
        EnvIndex {
            env,
            by_name,
            modules,
            namespaces,
            dists,
            modules_known,
        }
    }

    /// The record of `name` that counts (see [`counts_before`]).
    pub fn package(&self, name: &str) -> Option<&'a Package> {
        self.by_name.get(name).map(|r| r[0])
    }

    /// Every package name with the record that counts.
    pub fn packages(&self) -> impl Iterator<Item = &'a Package> + '_ {
        self.by_name.values().map(|r| r[0])
    }

    /// Names with more than one record: the one that counts first.
    pub fn duplicates(&self) -> impl Iterator<Item = &[&'a Package]> + '_ {
        self.by_name
            .values()
            .filter(|r| r.len() > 1)
            .map(Vec::as_slice)
    }

    /// Who provides the top-level module `module`, matched as written.
    pub fn providers(&self, module: &str) -> &[Provider<'a>] {
        self.modules.get(module).map_or(&[], Vec::as_slice)
    }

    /// Whether `module` (matched as written) is importable from the env:
    /// its top-level package, or, when that is a namespace package (no
    /// `__init__.py`, protobuf's `google/`), the part of it the import
    /// names (`google.cloud` is not provided by protobuf's `google`).
    pub fn provides(&self, module: &str) -> bool {
        let mut parts = module.split('.');
        let top = parts.next().unwrap_or(module);
        if self.modules.contains_key(top) {
            return true;
        }
        match (self.namespaces.get(top), parts.next()) {
            (Some(_), None) => true,
            (Some(held), Some(part)) => held.contains(&part),
            (None, _) => false,
        }
    }

    /// Every module and its providers.
    pub fn modules(&self) -> impl Iterator<Item = (&'a str, &[Provider<'a>])> + '_ {
        self.modules.iter().map(|(m, p)| (*m, p.as_slice()))
    }

    /// Who owns the distribution `name` (any spelling, PEP 503): a conda
    /// record of that name or a pip dist-info.
    pub fn dist_owner(&self, name: &str) -> Option<Provider<'a>> {
        self.dists.get(&normalize_dist_name(name)).copied()
    }

    pub fn modules_known(&self) -> bool {
        self.modules_known
    }

    /// Distributions pip (or another installer) put in site-packages.
    pub fn pip_dists(&self) -> impl Iterator<Item = &'a PipDist> + '_ {
        self.env.pip.iter().filter(|d| !is_conda_installed(d))
    }

    /// `.dist-info`s conda wrote (`INSTALLER` says `conda`) that no conda
    /// record owns any more: their record was deleted.
    pub fn orphans(&self) -> impl Iterator<Item = &'a PipDist> + '_ {
        self.env.pip.iter().filter(|d| is_conda_installed(d))
    }
}

fn is_conda_installed(dist: &PipDist) -> bool {
    dist.installer
        .as_deref()
        .is_some_and(|i| i.trim().eq_ignore_ascii_case("conda"))
}

/// The module an unowned site-packages entry is: a folder's name, or a
/// file's name up to its first dot.
fn unowned_module(path: &str) -> Option<&str> {
    let name = path.rsplit(['/', '\\']).next()?;
    let module = name.split('.').next()?;
    (!module.is_empty()).then_some(module)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::EnvOrigin;
    use rattler_conda_types::{PackageName, PackageRecord, VersionWithSource};
    use std::str::FromStr;

    fn pkg(name: &str, version: &str, file: &str, modules: &[&str]) -> Package {
        Package {
            record: PackageRecord::new(
                PackageName::from_str(name).unwrap(),
                VersionWithSource::from_str(version).unwrap(),
                "py39_0".parse().unwrap(),
            ),
            channel: None,
            file: file.into(),
            modules: modules.iter().map(|m| m.to_string()).collect(),
            dists: vec![],
            files_missing: false,
        }
    }

    #[test]
    fn issue_13_item_3_duplicate_records_one_rule_decides_which_counts() {
        let env = Env {
            name: "hydro".into(),
            path: "/envs/hydro".into(),
            origin: EnvOrigin::Install,
            packages: vec![
                pkg("numpy", "1.24.3", "b.json", &["numpy"]),
                pkg("numpy", "1.20.1", "a.json", &["numpy"]),
                pkg("pillow", "9.0", "p.json", &["PIL"]),
                pkg("python", "3.9.16", "py.json", &[]),
            ],
            pip: vec![],
            pinned: None,
            history: vec![],
            unowned: vec![
                "Lib/site-packages/flood_tools".into(),
                "Lib/site-packages/_hand.cp37-win_amd64.pyd".into(),
            ],
            capped: vec![],
        };
        let index = EnvIndex::new(&env);
        // Whatever order the records come in, the same one counts, and
        // `Env::package` agrees.
        assert_eq!(index.package("numpy").unwrap().file, "b.json");
        assert_eq!(env.package("numpy").unwrap().file, "b.json");
        let mut reversed = env.clone();
        reversed.packages.reverse();
        assert_eq!(reversed.package("numpy").unwrap().file, "b.json");
        assert_eq!(index.duplicates().count(), 1);
        // Case is kept (item 4): `PIL` is importable, `pil` is not.
        assert!(index.provides("PIL"));
        assert!(!index.provides("pil"));
        // A hand-copied module is importable (item 1).
        assert!(matches!(
            index.providers("flood_tools"),
            [Provider::Unowned(_)]
        ));
        assert!(index.dist_owner("Pillow").is_some());
        // Item 18: a hand-copied extension built for Python 3.7 does not
        // load in this 3.9 env.
        assert!(!index.provides("_hand"));
        // Item 5: a namespace package provides only what it holds.
        let mut ns = env.clone();
        ns.packages
            .push(pkg("protobuf", "4.21", "pb.json", &["google.protobuf"]));
        let index = EnvIndex::new(&ns);
        assert!(index.provides("google.protobuf.message"));
        assert!(index.provides("google"));
        assert!(!index.provides("google.cloud.storage"));
        assert!(index.provides("PIL.Image"));
    }
}
