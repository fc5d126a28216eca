//! One env's package index, built once per env from the model and read by
//! every check that looks up a package or a module: every record of a
//! package name (and the one rule that says which counts when there are
//! several), who owns each `.dist-info`/`.egg-info`, and which top-level
//! modules are importable and who provides them, with case kept (Python
//! matches imports case-sensitively, on Windows too: PEP 235).

use super::{normalize_dist_name, Editable, Env, Package, PipDist, PthFile, PthLineKind, PthOwner};
use std::cmp::Ordering;
use std::collections::{BTreeMap, HashMap, HashSet};

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

/// Module → who provides it, as two vectors sorted by module (each
/// module's providers in the order they were added): a big env names tens
/// of thousands of modules, and a hash map of them (a bucket each, a `Vec`
/// of providers each) cost several times the bytes, in every env's index
/// at once.
#[derive(Clone, Debug, Default)]
struct ModuleMap<'a> {
    names: Vec<&'a str>,
    providers: Vec<Provider<'a>>,
}

impl<'a> ModuleMap<'a> {
    fn new(mut pairs: Vec<(&'a str, Provider<'a>)>) -> ModuleMap<'a> {
        // Stable: a module's providers keep the order they were added in.
        pairs.sort_by(|a, b| a.0.cmp(b.0));
        let (names, providers) = pairs.into_iter().unzip();
        ModuleMap { names, providers }
    }

    fn get(&self, module: &str) -> &[Provider<'a>] {
        let start = self.names.partition_point(|n| *n < module);
        let end = self.names.partition_point(|n| *n <= module);
        &self.providers[start..end]
    }

    fn contains(&self, module: &str) -> bool {
        self.names.binary_search(&module).is_ok()
    }

    /// Every module once, with its providers.
    fn iter(&self) -> impl Iterator<Item = (&'a str, &[Provider<'a>])> + '_ {
        let mut start = 0;
        self.names.chunk_by(|a, b| a == b).map(move |same| {
            let providers = &self.providers[start..start + same.len()];
            start += same.len();
            (same[0], providers)
        })
    }
}

#[derive(Clone, Debug)]
pub struct EnvIndex<'a> {
    pub env: &'a Env,
    /// Package name → all its records, the one that counts first.
    by_name: BTreeMap<&'a str, Vec<&'a Package>>,
    /// Importable module (case kept) → who provides it: a top-level module,
    /// or inside namespace packages (no `__init__.py`) the first regular
    /// package or module file, dotted (`google.protobuf`,
    /// `google.cloud.storage`).
    modules: ModuleMap<'a>,
    /// Every namespace package level above a dotted entry of `modules`
    /// (`google`, `google.cloud`): importable, but only what they hold is.
    namespaces: HashSet<&'a str>,
    /// Normalized dist name (PEP 503) → owner of its dist-info.
    dists: HashMap<String, Provider<'a>>,
    /// Normalized names of the pip dists that are editable installs.
    editable_dists: HashSet<String>,
    /// Whether the env's records name their modules at all (a snapshot
    /// written before gpaudit recorded modules has none).
    modules_known: bool,
}

impl<'a> EnvIndex<'a> {
    pub fn new(env: &'a Env) -> EnvIndex<'a> {
        EnvIndex::with_declared(env, &|_| Vec::new())
    }

    /// The index, with the modules `declared(package name)` says a
    /// package provides beyond its files (import hooks; the rule data's
    /// `[[provides]]`).
    pub fn with_declared(env: &'a Env, declared: &dyn Fn(&str) -> Vec<&'a str>) -> EnvIndex<'a> {
        let mut by_name: BTreeMap<&str, Vec<&Package>> = BTreeMap::new();
        for p in &env.packages {
            by_name.entry(p.name()).or_default().push(p);
        }
        for records in by_name.values_mut() {
            records.sort_by(|a, b| counts_before(a, b));
        }
        // (module, provider) pairs, sorted into a ModuleMap at the end.
        let mut modules: Vec<(&str, Provider)> = Vec::with_capacity(
            by_name.values().map(|r| r[0].modules.len()).sum::<usize>()
                + env.pip.iter().map(|d| d.modules.len()).sum::<usize>(),
        );
        let mut dists = HashMap::new();
        for records in by_name.values() {
            let p = records[0];
            for m in p
                .modules
                .iter()
                .map(String::as_str)
                .chain(declared(p.name()))
            {
                modules.push((m, Provider::Conda(p)));
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
            for m in d
                .modules
                .iter()
                .map(String::as_str)
                .chain(declared(&d.name))
            {
                modules.push((m, Provider::Pip(d)));
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
                modules.push((m, Provider::Unowned(path)));
            }
        }
        // What `.pth` files add: the modules of the folders inside the env
        // they put on sys.path, and an editable install's modules, provided
        // by the file's owner.
        let mut editable_dists = HashSet::new();
        for file in env.pth.iter().flatten() {
            let provider = match &file.owner {
                Some(PthOwner::Conda(name)) => {
                    by_name.get(name.as_str()).map(|r| Provider::Conda(r[0]))
                }
                Some(PthOwner::Pip(name)) => {
                    env.pip.iter().find(|d| &d.name == name).map(Provider::Pip)
                }
                None => None,
            }
            .unwrap_or(Provider::Unowned(&file.path));
            let added = file.lines.iter().flat_map(|l| match &l.kind {
                PthLineKind::Inside { modules, .. } => modules.as_slice(),
                _ => &[],
            });
            let editable = file.editables.iter().flat_map(|e| &e.modules);
            for m in added.chain(editable) {
                modules.push((m.as_str(), provider));
            }
            if let (false, Some(PthOwner::Pip(name))) = (file.editables.is_empty(), &file.owner) {
                editable_dists.insert(normalize_dist_name(name));
            }
        }
        let mut namespaces = HashSet::new();
        let modules = ModuleMap::new(modules);
        for (m, _) in modules.iter() {
            for (i, _) in m.match_indices('.') {
                namespaces.insert(&m[..i]);
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
            editable_dists,
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
        self.modules.get(module)
    }

    /// Whether `module` (matched as written) is importable from the env,
    /// as far as the files tell: a recorded module is importable with
    /// anything below it (a regular package's `__init__` may make any
    /// submodule; gpaudit does not look inside it), and a namespace
    /// package level only as itself or through what it holds
    /// (`google.cloud.storage` is not provided by protobuf's
    /// `google.protobuf`).
    pub fn provides(&self, module: &str) -> bool {
        let whole = module.len();
        module
            .match_indices('.')
            .map(|(i, _)| i)
            .chain(std::iter::once(whole))
            .any(|end| self.modules.contains(&module[..end]))
            || self.namespaces.contains(module)
    }

    /// Every module and its providers.
    pub fn modules(&self) -> impl Iterator<Item = (&'a str, &[Provider<'a>])> + '_ {
        self.modules.iter()
    }

    /// Who owns the distribution `name` (any spelling, PEP 503): a conda
    /// record of that name or a pip dist-info.
    pub fn dist_owner(&self, name: &str) -> Option<Provider<'a>> {
        self.dists.get(&normalize_dist_name(name)).copied()
    }

    pub fn modules_known(&self) -> bool {
        self.modules_known
    }

    /// Distributions pip (or another installer) put in site-packages,
    /// editable installs left out (see [`EnvIndex::editables`]).
    pub fn pip_dists(&self) -> impl Iterator<Item = &'a PipDist> + '_ {
        self.env.pip.iter().filter(|d| {
            !is_conda_installed(d) && !self.editable_dists.contains(&normalize_dist_name(&d.name))
        })
    }

    /// The `.pth` files of site-packages (none in a snapshot written
    /// before gpaudit read them).
    pub fn pth_files(&self) -> impl Iterator<Item = &'a PthFile> + '_ {
        self.env.pth.iter().flatten()
    }

    /// Editable installs, with the `.pth` file that makes each.
    pub fn editables(&self) -> impl Iterator<Item = (&'a PthFile, &'a Editable)> + '_ {
        self.pth_files()
            .flat_map(|f| f.editables.iter().map(move |e| (f, e)))
    }

    /// `.pth` files no package owns (made by hand, or by `setup.py
    /// develop`): `conda proup` does not carry them over. Esri's own
    /// (see [`is_esri_pth`]) are left out.
    pub fn unowned_pth(&self) -> impl Iterator<Item = &'a PthFile> + '_ {
        self.pth_files()
            .filter(|f| f.owner.is_none() && !is_esri_pth(f))
    }

    /// Folders outside the env that `.pth` files put on `sys.path`, with
    /// their file. A conda package's own `.pth` files, and Esri's, are left
    /// out: they are the packages' wiring (ArcGIS's into its install),
    /// made again with them.
    pub fn outside_paths(&self) -> impl Iterator<Item = (&'a PthFile, &'a str)> + '_ {
        self.pth_files()
            .filter(|f| !matches!(f.owner, Some(PthOwner::Conda(_))) && !is_esri_pth(f))
            .flat_map(|f| f.outside().map(move |d| (f, d)))
    }

    /// `.dist-info`s conda wrote (`INSTALLER` says `conda`) that no conda
    /// record owns any more: their record was deleted.
    pub fn orphans(&self) -> impl Iterator<Item = &'a PipDist> + '_ {
        self.env.pip.iter().filter(|d| is_conda_installed(d))
    }
}

/// Esri's own `.pth` files (`ArcGISPro.pth`, which wires arcpy into the
/// ArcGIS install): an install script may write them, so no record lists
/// them, yet they are ArcGIS's, made again by its install and by proup.
pub fn is_esri_pth(file: &PthFile) -> bool {
    let name = file.file_name().as_bytes();
    name.len() >= 6 && name[..6].eq_ignore_ascii_case(b"arcgis")
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
    fn issue_19_module_map_keeps_each_modules_providers_in_the_order_added() {
        let pip = PipDist {
            name: "attrs-fork".into(),
            version: "1.0".into(),
            installer: Some("pip".into()),
            path: "Lib/site-packages/attrs_fork-1.0.dist-info".into(),
            overwrote: vec![],
            modules: vec!["attr".into(), "zz".into()],
        };
        let env = Env {
            name: "e".into(),
            path: "/envs/e".into(),
            origin: EnvOrigin::Install,
            packages: vec![
                pkg("b-attrs", "1.0", "b.json", &["attr", "b"]),
                pkg("a-attrs", "1.0", "a.json", &["attr", "a"]),
            ],
            pip: vec![pip],
            pinned: None,
            history: vec![],
            unowned: vec!["Lib/site-packages/attr".into()],
            capped: vec![],
            pth: None,
        };
        let index = EnvIndex::new(&env);
        // Conda records (by package name), then pip, then hand-copied.
        let names: Vec<&str> = index.providers("attr").iter().map(|p| p.name()).collect();
        assert_eq!(
            names,
            ["a-attrs", "b-attrs", "attrs-fork", "Lib/site-packages/attr"]
        );
        assert!(index.providers("at").is_empty());
        assert!(index.providers("attr.x").is_empty());
        assert!(index.provides("attr.x"));
        assert!(!index.provides("c"));
        let all: Vec<(&str, usize)> = index.modules().map(|(m, p)| (m, p.len())).collect();
        assert_eq!(all, [("a", 1), ("attr", 4), ("b", 1), ("zz", 1)]);
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
            pth: None,
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

    #[test]
    fn issue_13_item_5_dotted_imports_resolve_through_every_namespace_level() {
        let mut env = Env {
            name: "hydro".into(),
            path: "/envs/hydro".into(),
            origin: EnvOrigin::Install,
            packages: vec![
                pkg("protobuf", "4.21", "pb.json", &["google.protobuf"]),
                pkg(
                    "google-cloud-storage",
                    "2.9",
                    "gcs.json",
                    &["google.cloud.storage", "google.cloud._helpers"],
                ),
            ],
            pip: vec![],
            pinned: None,
            history: vec![],
            unowned: vec![],
            capped: vec![],
            pth: None,
        };
        let index = EnvIndex::new(&env);
        for ok in [
            "google",
            "google.cloud",
            "google.cloud.storage",
            "google.cloud.storage.blob",
            "google.cloud._helpers",
            "google.protobuf.message",
        ] {
            assert!(index.provides(ok), "{ok}");
        }
        for missing in [
            "google.cloud.bigquery",
            "google.auth",
            "google.cloudy",
            "goo",
        ] {
            assert!(!index.provides(missing), "{missing}");
        }
        env.packages.remove(1);
        let index = EnvIndex::new(&env);
        assert!(!index.provides("google.cloud.storage"));
        assert!(!index.provides("google.cloud"));
    }
}
