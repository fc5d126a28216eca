//! `service-import-unresolved`, `service-import-removed-stdlib`,
//! `service-code-python2`, `service-code-missing`: will a GP service's own
//! code run in the env it gets on each machine? Each import of each script is
//! resolved against the env's packages' modules, the standard library of the
//! env's Python, what ArcGIS provides and the service's own files.
//!
//! Over 600 lines with its unit tests: the code itself is under 350 lines,
//! and the tests build their envs inline beside the cases they pin.

use super::Context;
use crate::finding::{Code, Condition, Finding};
use crate::model::{Env, EnvIndex, Machine, Provider, ServiceCode};
use crate::python::{PyVersion, Stdlib};
use std::collections::{BTreeSet, HashMap, HashSet};

/// Python of an env (its `python` package), if it has one.
fn env_python(index: &EnvIndex) -> Option<PyVersion> {
    PyVersion::parse(&index.package("python")?.record.version.as_str())
}

/// Where each module is installed in the site, built once (looking it up
/// per import would cost machines × envs × packages for every unresolved
/// import): module → up to three `package (env on machine)`, and the names
/// of the packages that provide it.
#[derive(Default)]
struct Hint {
    described: BTreeSet<String>,
    packages: BTreeSet<String>,
}

type Providers = HashMap<String, Hint>;

fn providers_index(ctx: &Context, wanted: &HashSet<String>) -> Providers {
    let mut index: Providers = HashMap::new();
    if wanted.is_empty() {
        return index;
    }
    let mut lower = String::new();
    for m in &ctx.snapshot.machines {
        for e in &m.envs {
            for (module, providers) in ctx.index(e).modules() {
                // Keyed lower-cased: `import pil` is told where `PIL` is;
                // and as recorded (`google.protobuf`), so that protobuf is
                // not offered for `google.cloud`.
                // Allocate only what is kept: the key once per module,
                // a name once per package, a description while < 3.
                lower.clear();
                lower.push_str(module);
                lower.make_ascii_lowercase();
                if !wanted.contains(lower.as_str()) {
                    continue;
                }
                let entry = match index.get_mut(lower.as_str()) {
                    Some(entry) => entry,
                    None => index.entry(lower.clone()).or_default(),
                };
                for p in providers {
                    if matches!(p, Provider::Unowned(_)) {
                        continue;
                    }
                    if !entry.packages.contains(p.name()) {
                        entry.packages.insert(p.name().to_string());
                    }
                    if entry.described.len() < 3 {
                        entry.described.insert(match p {
                            Provider::Pip(d) => {
                                format!("{} from pip (in `{}` on {})", d.name, e.name, m.name)
                            }
                            _ => format!("{} (in `{}` on {})", p.name(), e.name, m.name),
                        });
                    }
                }
            }
        }
    }
    index
}

/// An ArcMap-runtime service on a site before 11.0 runs ArcMap's Python 2.7,
/// not a conda env: its code is neither Python 3 nor checked against one.
fn runs_arcmap_python(ctx: &Context, service: &str) -> bool {
    let arcmap = ctx
        .snapshot
        .service(service)
        .and_then(|s| s.provider.as_deref())
        .is_some_and(|p| p.eq_ignore_ascii_case("ArcObjects"));
    let before_11 = ctx.site_release.as_ref().is_some_and(|r| {
        !ctx.releases
            .supports(&r.version, crate::release::Feature::ArcmapRuntimeRemoved)
    });
    arcmap && before_11
}

pub fn service_code(ctx: &Context) -> Vec<Finding> {
    let mut out = Vec::new();
    if ctx.snapshot.service_code.is_empty() {
        return out;
    }
    let stdlib = Stdlib::builtin();
    // Esri's own System/ and Utilities/ services: their code ships with
    // the install.
    let codes = || {
        ctx.snapshot
            .service_code
            .iter()
            .filter(|c| !crate::model::is_esri_service(&c.service))
    };
    for code in codes() {
        if !runs_arcmap_python(ctx, &code.service) {
            out.extend(code_findings(code));
        }
    }
    // An env without a python package (a broken or partial env) is read
    // with the base version's standard library.
    let fallback = PyVersion(3, 11);
    let mut std_by_version: HashMap<PyVersion, BTreeSet<String>> = HashMap::new();
    std_by_version.insert(fallback, stdlib.modules(fallback));
    for machine in &ctx.snapshot.machines {
        for env in &machine.envs {
            if let Some(v) = env_python(&ctx.index(env)) {
                std_by_version.entry(v).or_insert_with(|| stdlib.modules(v));
            }
        }
    }
    let mut places: Vec<Place> = Vec::new();
    for machine in &ctx.snapshot.machines {
        for binding in machine.bindings.iter().filter(|b| b.unresolved.is_none()) {
            let Some(code) = codes().find(|c| c.service == binding.service) else {
                continue;
            };
            let Some(env) = machine.env_at(&binding.env_path) else {
                continue;
            };
            let index = ctx.index(env);
            if !index.modules_known() || runs_arcmap_python(ctx, &code.service) {
                continue;
            }
            let python = env_python(&index);
            let Some(std_here) = std_by_version
                .get(&python.unwrap_or(fallback))
                .or_else(|| std_by_version.get(&fallback))
            else {
                continue;
            };
            places.push((machine, env, index, python, std_here, code));
        }
    }
    let providers = providers_index(ctx, &unresolved_keys(&places));
    for (machine, env, index, python, std_here, code) in &places {
        let here = Here {
            machine,
            env,
            index,
            python: *python,
            std_here,
        };
        imports(ctx, &stdlib, &providers, &here, code, &mut out);
    }
    out
}

/// Every service binding whose imports are checked: where, against what
/// env index, Python and standard library, and the code.
type Place<'a> = (
    &'a Machine,
    &'a Env,
    std::borrow::Cow<'a, EnvIndex<'a>>,
    Option<PyVersion>,
    &'a BTreeSet<String>,
    &'a ServiceCode,
);

/// What [`imports`] may look up in the site-wide [`providers_index`]: the
/// lower-cased module of every import that does not resolve where it
/// runs, and each dotted level above it. The index is built for these
/// keys only (built for every module of every env, it cost more than
/// reading the site).
fn unresolved_keys(places: &[Place]) -> HashSet<String> {
    let mut keys = HashSet::new();
    for (_, _, index, _, std_here, code) in places {
        for import in code.scripts.iter().flat_map(|s| &s.imports) {
            if resolves(index, std_here, code, import) {
                continue;
            }
            let lower = import.module.to_ascii_lowercase();
            for (i, _) in lower.match_indices('.') {
                keys.insert(lower[..i].to_string());
            }
            keys.insert(lower);
        }
    }
    keys
}

/// What one env on one machine provides.
struct Here<'a> {
    machine: &'a Machine,
    env: &'a Env,
    index: &'a EnvIndex<'a>,
    python: Option<PyVersion>,
    std_here: &'a BTreeSet<String>,
}

/// Findings about the code itself, the same on every machine.
fn code_findings(code: &ServiceCode) -> Vec<Finding> {
    let mut out = Vec::new();
    let service = |f: Finding| {
        f.service(&code.service)
            .services(vec![code.service.clone()])
    };
    if let Some(why) = &code.missing {
        out.push(service(Finding::new(
            Code::ServiceCodeMissing,
            format!(
                "the code of {} was not found, so its imports are not checked: {why}",
                code.service
            ),
        )));
    }
    for script in &code.scripts {
        if let Some((line, message)) = &script.not_python3 {
            out.push(service(
                Finding::new(
                    Code::ServiceCodePython2,
                    format!(
                        "{} does not parse as Python 3 (line {line}: {message}); Python 2 code (ArcMap) does not run in ArcGIS Pro's Python",
                        script.path
                    ),
                )
                .location(script.path.clone())
                .found(format!("line {line}")),
            ));
        }
        if let Some(why) = &script.unreadable {
            out.push(service(
                Finding::new(
                    Code::ServiceCodeMissing,
                    format!(
                        "{} of {} could not be read, so its imports are not checked: {why}",
                        script.path, code.service
                    ),
                )
                .location(script.path.clone()),
            ));
        }
    }
    out
}

fn imports(
    ctx: &Context,
    stdlib: &Stdlib,
    providers: &Providers,
    here: &Here,
    code: &ServiceCode,
    out: &mut Vec<Finding>,
) {
    let Here {
        machine,
        env,
        index,
        python,
        std_here,
    } = *here;
    let target_python = ctx.target_python;
    for script in &code.scripts {
        for import in &script.imports {
            // Everything is matched as written: Python's imports are
            // case-sensitive, on Windows too (PEP 235: `ConfigParser` is not
            // `configparser`, `pil` is not `PIL`). The service's own files
            // were recorded lower-cased, so they are compared so.
            let exact = import.module.split('.').next().unwrap_or(&import.module);
            let top = exact.to_ascii_lowercase();
            let base = |c: Code, message: String| {
                Finding::new(c, message)
                    .machine(&machine.name)
                    .env(&env.name, &env.path)
                    .service(&code.service)
                    .services(vec![code.service.clone()])
                    .package(top.clone())
                    .location(crate::location::Location::at(&script.path, import.line))
            };
            let in_std = std_here.contains(exact);
            if !resolves(index, std_here, code, import) {
                if index.outside_paths().next().is_some() {
                    // A `.pth` file puts a folder outside the env on
                    // sys.path (a share): the import may come from there,
                    // and pth-path-outside-env names it.
                    continue;
                }
                let mut message = format!(
                    "{} imports `{}` (line {}{}), which env `{}` on {} does not provide",
                    code.service,
                    import.module,
                    import.line,
                    if import.optional { ", optional" } else { "" },
                    env.name,
                    machine.name
                );
                if let Some(v) = python.and_then(|v| removed_before(stdlib, &top, v)) {
                    message.push_str(&format!(
                        "; it left the standard library in Python {v} and this env has Python {}",
                        python.map(|p| p.to_string()).unwrap_or_default()
                    ));
                }
                let mut elsewhere: Vec<String> = Vec::new();
                // The longest recorded module the import is in.
                let lower = import.module.to_ascii_lowercase();
                let known = std::iter::once(lower.as_str())
                    .chain(lower.match_indices('.').rev().map(|(i, _)| &lower[..i]))
                    .find_map(|m| providers.get(m));
                // The service's reference env (what it was published from)
                // may list the package: by the module's name, or by the
                // name of a package that provides it elsewhere
                // (`sklearn` → scikit-learn).
                if let Some(reference) = ctx.snapshot.reference_for(&code.service) {
                    let by_name = reference.listing.by_name();
                    let mut names = vec![crate::model::normalize_dist_name(&top)];
                    names.extend(
                        known
                            .into_iter()
                            .flat_map(|k| k.packages.iter())
                            .map(|n| crate::model::normalize_dist_name(n)),
                    );
                    if let Some(p) = names.iter().find_map(|n| by_name.get(n)) {
                        elsewhere.push(format!(
                            "{} {} (in the reference env {})",
                            p.name,
                            p.describe(),
                            reference.listing.source
                        ));
                    }
                }
                elsewhere.extend(known.into_iter().flat_map(|k| k.described.iter().cloned()));
                let mut f = base(Code::ServiceImportUnresolved, message)
                    .found(format!("{}:{}", script.path, import.line));
                if !elsewhere.is_empty() {
                    f = f.expected(format!("provided by {}", elsewhere.join(", ")));
                }
                if import.optional {
                    f = f.condition(Condition::Optional);
                }
                out.push(f);
                continue;
            }
            if !in_std {
                continue;
            }
            let Some(v) = python else { continue };
            if let Some(removed) = stdlib.removed_after(&top, v) {
                let hit_by_target = target_python.is_some_and(|t| t >= removed);
                let mut f = base(
                    Code::ServiceImportRemovedStdlib,
                    format!(
                        "{} imports `{}` (line {}), which Python {removed} removed from the standard library; env `{}` on {} has Python {v}{}",
                        code.service,
                        import.module,
                        import.line,
                        env.name,
                        machine.name,
                        match target_python {
                            Some(t) if hit_by_target => format!(", the target release's Python {t} does not have it"),
                            _ => String::new(),
                        }
                    ),
                )
                .expected(format!("Python < {removed}"))
                .found(format!("Python {v}"));
                if hit_by_target {
                    f = f.condition(Condition::Target);
                }
                out.push(f);
            }
        }
    }
}

/// Whether an import resolves in the env: the standard library of its
/// Python, the env's index, or the service's own files.
fn resolves(
    index: &EnvIndex,
    std_here: &BTreeSet<String>,
    code: &ServiceCode,
    import: &crate::model::ScriptImport,
) -> bool {
    // Matched as written: imports are case-sensitive (PEP 235); the
    // service's own files were recorded lower-cased.
    let exact = import.module.split('.').next().unwrap_or(&import.module);
    std_here.contains(exact)
        || index.provides(&import.module)
        || code.local_modules.contains(&exact.to_ascii_lowercase())
}

/// The imports of the services running in `env` on `machine` that
/// nothing in the env provides, as `Service imports `m` (script:line)`:
/// what a folder outside the env that a `.pth` file adds must provide.
pub(super) fn unprovided_imports(ctx: &Context, machine: &Machine, env: &Env) -> Vec<String> {
    let index = ctx.index(env);
    if !index.modules_known() {
        return Vec::new();
    }
    let python = env_python(&index).unwrap_or(PyVersion(3, 11));
    let std_here = Stdlib::shared().modules(python);
    let bound = machine.services_in(&env.path);
    let mut out = Vec::new();
    for code in ctx.snapshot.service_code.iter().filter(|c| {
        !crate::model::is_esri_service(&c.service)
            && bound.iter().any(|b| b.eq_ignore_ascii_case(&c.service))
            && !runs_arcmap_python(ctx, &c.service)
    }) {
        for script in &code.scripts {
            for import in &script.imports {
                if !resolves(&index, &std_here, code, import) {
                    out.push(format!(
                        "{} imports `{}` ({}:{})",
                        code.service, import.module, script.path, import.line
                    ));
                }
            }
        }
    }
    out
}

/// The Python (up to `v`) that removed `module`, when it is not in `v`'s
/// standard library but was in an earlier one.
fn removed_before(stdlib: &Stdlib, module: &str, v: PyVersion) -> Option<PyVersion> {
    let earlier = PyVersion(3, 6);
    (stdlib.modules(earlier).contains(module) && !stdlib.modules(v).contains(module))
        .then(|| stdlib.removed_after(module, earlier))
        .flatten()
}

#[cfg(test)]
mod tests {
    use super::super::testkit::*;
    use super::*;
    use crate::model::{Script, ScriptImport};
    use crate::rules::RuleBook;

    fn import(module: &str, line: usize, optional: bool) -> ScriptImport {
        ScriptImport {
            module: module.into(),
            line,
            optional,
            dynamic: false,
        }
    }

    fn code(scripts: Vec<Script>) -> ServiceCode {
        ServiceCode {
            service: "Hydro/Flood.GPServer".into(),
            folder: Some("/arcgisinput/Hydro/Flood.GPServer/extracted".into()),
            missing: None,
            local_modules: vec!["flood".into(), "helpers".into()],
            scripts,
        }
    }

    fn script(path: &str, imports: Vec<ScriptImport>) -> Script {
        Script {
            path: path.into(),
            imports,
            not_python3: None,
            unreadable: None,
        }
    }

    fn brief(s: &crate::model::Snapshot) -> Vec<String> {
        let book = RuleBook::builtin();
        run_one(s, service_code)
            .iter()
            .map(|f| {
                format!(
                    "{} {} {}",
                    f.code,
                    book.severity(f.code, f.condition),
                    f.package.as_deref().unwrap_or("")
                )
            })
            .collect()
    }

    #[test]
    fn imports_resolve_against_packages_stdlib_arcgis_and_own_files() {
        let hydro = env(
            "hydro",
            &[
                ("python", "3.9.16", "h_0"),
                ("numpy", "1.20.1", "py39_0"),
                ("arcpy", "3.1", "py39_1"),
            ],
        );
        let mut m = machine("GIS1", vec![hydro]);
        bind(&mut m, "Hydro/Flood.GPServer", "/envs/hydro", "hydro");
        let mut s = snapshot(vec![m], Some("11.1"));
        s.service_code.push(code(vec![script(
            "flood.py",
            vec![
                import("arcpy", 1, false),
                import("arcgisscripting", 2, false),
                import("numpy.linalg", 3, false),
                import("os.path", 4, false),
                import("helpers", 5, false),
                import("rasterstats", 6, false),
                import("xgboost", 7, true),
                import("imp", 8, false),
            ],
        )]));
        assert_eq!(
            brief(&s),
            [
                "service-import-removed-stdlib info imp",
                "service-import-unresolved error rasterstats",
                "service-import-unresolved warning xgboost",
            ]
        );
        // With a target on Python 3.12, imp is an error.
        let releases = crate::release::ReleaseTable::builtin();
        let mut ctx = Context::new(&s, &releases);
        ctx.target_python = Some(PyVersion(3, 13));
        let f: Vec<_> = service_code(&ctx)
            .into_iter()
            .filter(|f| f.code == Code::ServiceImportRemovedStdlib)
            .collect();
        assert_eq!(
            RuleBook::builtin().severity(f[0].code, f[0].condition),
            crate::Severity::Error
        );
    }

    #[test]
    fn issue_13_item_4_imports_match_module_case_and_item_1_hand_copied_modules_resolve() {
        let mut hydro = env(
            "hydro",
            &[
                ("python", "3.9.16", "h_0"),
                ("pillow", "9.0", "py39_0"),
                ("pyyaml", "6.0", "py39_0"),
            ],
        );
        hydro.packages[1].modules = vec!["PIL".into()];
        hydro.packages[2].modules = vec!["yaml".into(), "_yaml".into()];
        hydro.unowned = vec!["Lib/site-packages/flood_tools".into()];
        let mut m = machine("GIS1", vec![hydro]);
        bind(&mut m, "Hydro/Flood.GPServer", "/envs/hydro", "hydro");
        let mut s = snapshot(vec![m], Some("11.1"));
        s.service_code.push(code(vec![script(
            "flood.py",
            vec![
                import("PIL.Image", 1, false),
                import("pil", 2, false),
                import("Yaml", 3, false),
                import("yaml", 4, false),
                import("flood_tools", 5, false),
            ],
        )]));
        assert_eq!(
            brief(&s),
            [
                "service-import-unresolved error pil",
                "service-import-unresolved error yaml",
            ]
        );
    }

    #[test]
    fn issue_13_item_5_protobufs_google_does_not_provide_google_cloud() {
        let mut hydro = env(
            "hydro",
            &[
                ("python", "3.9.16", "h_0"),
                ("protobuf", "4.21.12", "py39_0"),
            ],
        );
        hydro.packages[1].modules = vec!["google._upb".into(), "google.protobuf".into()];
        let mut m = machine("GIS1", vec![hydro]);
        bind(&mut m, "Hydro/Flood.GPServer", "/envs/hydro", "hydro");
        let mut s = snapshot(vec![m], Some("11.1"));
        s.service_code.push(code(vec![script(
            "flood.py",
            vec![
                import("google.protobuf.message", 1, false),
                import("google.cloud.storage", 2, false),
            ],
        )]));
        assert_eq!(brief(&s), ["service-import-unresolved error google"]);
        // protobuf is not offered as what provides google.cloud.
        let f = run_one(&s, service_code);
        assert_eq!(f[0].expected, None, "{:?}", f[0].expected);
    }

    #[test]
    fn issue_13_item_17_esri_system_and_utilities_services_are_not_code_checked() {
        let hydro = env("hydro", &[("python", "3.9.16", "h_0")]);
        let mut m = machine("GIS1", vec![hydro]);
        bind(
            &mut m,
            "Utilities/PrintingTools.GPServer",
            "/envs/hydro",
            "hydro",
        );
        let mut s = snapshot(vec![m], Some("11.1"));
        for key in [
            "Utilities/PrintingTools.GPServer",
            "system/PublishingTools.GPServer",
        ] {
            let mut c = code(vec![script("x.py", vec![import("nothere", 1, false)])]);
            c.service = key.into();
            c.missing = Some("no extracted folder".into());
            s.service_code.push(c);
        }
        assert!(brief(&s).is_empty(), "{:?}", brief(&s));
    }

    fn pywin32_pth(owner: crate::model::PthOwner) -> crate::model::PthFile {
        use crate::model::{PthFile, PthLine, PthLineKind};
        PthFile {
            path: "Lib/site-packages/pywin32.pth".into(),
            owner: Some(owner),
            lines: vec![PthLine {
                line: 2,
                text: "win32".into(),
                kind: PthLineKind::Inside {
                    dir: "Lib/site-packages/win32".into(),
                    exists: true,
                    modules: vec!["win32api".into()],
                },
            }],
            editables: vec![],
        }
    }

    #[test]
    fn issue_13_item_2_pip_installed_pywin32_provides_win32api() {
        let mut hydro = env("hydro", &[("python", "3.9.16", "h_0")]);
        hydro.pip.push(crate::model::PipDist {
            name: "pywin32".into(),
            version: "306".into(),
            installer: Some("pip".into()),
            path: "Lib/site-packages/pywin32-306.dist-info".into(),
            overwrote: vec![],
            modules: vec!["win32".into(), "pythonwin".into()],
        });
        // What the scan read from pywin32.pth decides.
        hydro.pth = Some(vec![pywin32_pth(crate::model::PthOwner::Pip(
            "pywin32".into(),
        ))]);
        let mut m = machine("GIS1", vec![hydro]);
        bind(&mut m, "Hydro/Flood.GPServer", "/envs/hydro", "hydro");
        let mut s = snapshot(vec![m], Some("11.1"));
        s.service_code.push(code(vec![script(
            "flood.py",
            vec![import("win32api", 1, false), import("win32gui", 2, false)],
        )]));
        // win32gui is in the rules' list, but not in the folders the .pth adds.
        assert_eq!(brief(&s), ["service-import-unresolved error win32gui"]);
        // The .pth file was read and is not there: win32api does not import.
        s.machines[0].envs[0].pth = Some(vec![]);
        assert_eq!(
            brief(&s),
            [
                "service-import-unresolved error win32api",
                "service-import-unresolved error win32gui"
            ]
        );
    }

    #[test]
    fn issue_13_item_2_imports_from_a_share_a_pth_adds_are_not_unresolved() {
        use crate::model::{PthFile, PthLine, PthLineKind};
        let mut hydro = env("hydro", &[("python", "3.9.16", "h_0")]);
        hydro.packages[0].modules = vec!["python_stub".into()];
        hydro.pth = Some(vec![PthFile {
            path: "Lib/site-packages/gp-share.pth".into(),
            owner: None,
            lines: vec![PthLine {
                line: 1,
                text: r"\\fileserver\gp\lib".into(),
                kind: PthLineKind::Outside {
                    dir: r"\\fileserver\gp\lib".into(),
                },
            }],
            editables: vec![],
        }]);
        let mut m = machine("GIS1", vec![hydro]);
        bind(&mut m, "Hydro/Flood.GPServer", "/envs/hydro", "hydro");
        let mut s = snapshot(vec![m], Some("11.1"));
        s.service_code.push(code(vec![script(
            "flood.py",
            vec![import("os", 1, false), import("floodshare", 2, false)],
        )]));
        assert!(brief(&s).is_empty(), "{:?}", brief(&s));
        let f = run_one(&s, crate::checks::pth::pth_path_outside_env);
        assert_eq!(f.len(), 1);
        assert!(
            f[0].message
                .contains("Hydro/Flood.GPServer imports `floodshare` (flood.py:2)")
                && f[0].message.contains("made by hand")
                && !f[0].message.contains("`os`"),
            "{}",
            f[0].message
        );
        assert_eq!(f[0].services, ["Hydro/Flood.GPServer"]);
        assert_eq!(f[0].found.as_deref(), Some(r"\\fileserver\gp\lib"));
        // A conda package's own .pth into the install is its wiring.
        s.machines[0].envs[0].pth.as_mut().unwrap()[0].owner =
            Some(crate::model::PthOwner::Conda("arcpy".into()));
        assert!(run_one(&s, crate::checks::pth::pth_path_outside_env).is_empty());
        assert_eq!(brief(&s), ["service-import-unresolved error floodshare"]);
        // So is Esri's ArcGISPro.pth, which an install script writes.
        let file = &mut s.machines[0].envs[0].pth.as_mut().unwrap()[0];
        file.owner = None;
        file.path = "Lib/site-packages/ArcGISPro.pth".into();
        assert!(run_one(&s, crate::checks::pth::pth_path_outside_env).is_empty());
        assert_eq!(brief(&s), ["service-import-unresolved error floodshare"]);
    }

    #[test]
    fn stdlib_case_pth_provided_modules_arcmap_services_and_old_snapshots() {
        let mut hydro = env(
            "hydro",
            &[("python", "3.9.16", "h_0"), ("pywin32", "305", "py39_0")],
        );
        hydro.packages[1].modules = vec!["win32".into(), "pythonwin".into()];
        let mut m = machine("GIS1", vec![hydro]);
        bind(&mut m, "Hydro/Flood.GPServer", "/envs/hydro", "hydro");
        let mut s = snapshot(vec![m], Some("11.1"));
        s.service_code.push(code(vec![script(
            "flood.py",
            vec![
                import("cProfile", 1, false),
                import("win32api", 2, false),
                import("ConfigParser", 3, false),
            ],
        )]));
        // cProfile (stdlib, as written) and win32api (pywin32's .pth) resolve;
        // Python 2's ConfigParser does not.
        assert_eq!(brief(&s), ["service-import-unresolved error configparser"]);

        // An ArcMap-runtime service on a 10.9 site runs Python 2.7: skipped.
        let mut s10 = s.clone();
        s10.site.version = Some("10.9".into());
        s10.services
            .push(service("Hydro/Flood.GPServer", "ArcObjects", None));
        assert!(brief(&s10).is_empty());

        // A snapshot from before modules were recorded: not checked.
        let mut old = s.clone();
        for p in &mut old.machines[0].envs[0].packages {
            p.modules.clear();
        }
        assert!(brief(&old).is_empty());
    }

    #[test]
    fn a_module_already_gone_from_the_env_s_python_is_unresolved_and_says_why() {
        let new = env("new", &[("python", "3.12.1", "h_0")]);
        let mut m = machine("GIS1", vec![new]);
        bind(&mut m, "Hydro/Flood.GPServer", "/envs/new", "new");
        let mut s = snapshot(vec![m], Some("11.1"));
        s.service_code.push(code(vec![script(
            "flood.py",
            vec![import("distutils.core", 3, false)],
        )]));
        let f = run_one(&s, service_code);
        assert_eq!(f.len(), 1);
        assert!(
            f[0].message
                .contains("left the standard library in Python 3.12"),
            "{}",
            f[0].message
        );
    }

    #[test]
    fn python2_missing_code_and_providers_elsewhere() {
        let hydro = env("hydro", &[("python", "3.9.16", "h_0")]);
        let ml = env(
            "ml",
            &[
                ("python", "3.9.16", "h_0"),
                ("scikit-learn", "1.2.1", "py39_0"),
            ],
        );
        let mut ml = ml;
        ml.packages[1].modules = vec!["sklearn".into()];
        let mut m = machine("GIS1", vec![hydro, ml]);
        bind(&mut m, "Hydro/Flood.GPServer", "/envs/hydro", "hydro");
        let mut s = snapshot(vec![m], Some("11.1"));
        let mut old = script("old.py", vec![]);
        old.not_python3 = Some((3, "invalid syntax".into()));
        s.service_code.push(code(vec![
            old,
            script("flood.py", vec![import("sklearn.cluster", 2, false)]),
        ]));
        s.service_code.push(ServiceCode {
            service: "Other/Gone.GPServer".into(),
            folder: None,
            missing: Some("no properties.toolbox".into()),
            local_modules: vec![],
            scripts: vec![],
        });
        let findings = run_one(&s, service_code);
        let codes: Vec<&str> = findings.iter().map(|f| f.code.as_str()).collect();
        assert_eq!(
            codes,
            [
                "service-code-missing",
                "service-code-python2",
                "service-import-unresolved"
            ]
        );
        assert_eq!(
            findings[2].expected.as_deref(),
            Some("provided by scikit-learn (in `ml` on GIS1)")
        );
    }
}
