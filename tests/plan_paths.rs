//! Plans that move (issue 13, "Broken workflows"): a plan does not depend
//! on the folder it was made in nor on the machine. Its paths are the
//! server's (or relative to the site file), found where apply runs through
//! the site file: made in one folder with a relative site path, moved, and
//! applied from another; applied where the site file's `path_map` puts the
//! install elsewhere; a service changed since the plan is still refused.

#![allow(clippy::unwrap_used)]

mod common;
use common::admin_server::{services_from, Server, PASSWORD, USER};
use common::upgrade_site::UpgradeSite;
use std::path::Path;

struct Run {
    code: i32,
    stdout: String,
    stderr: String,
}

impl Run {
    fn all(&self) -> String {
        format!("{}\n{}", self.stdout, self.stderr)
    }
}

/// gpaudit in `cwd`, with the stand-in conda's settings and (but for
/// `plan`) the stand-in server.
fn gpaudit(site: &UpgradeSite, server: &Server, cwd: &Path, args: &[&str]) -> Run {
    let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_gpaudit"));
    cmd.current_dir(cwd).args(args);
    if args.first() == Some(&"apply") {
        cmd.args(["--url", &server.url, "--username", USER]);
    }
    cmd.env("GPAUDIT_PASSWORD", PASSWORD)
        .env_remove("FAKE_CONDA_FAIL");
    for (k, v) in site.conda_env() {
        cmd.env(k, v);
    }
    let out = cmd.output().unwrap();
    Run {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

fn plan_json(path: &Path) -> serde_json::Value {
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

fn proups(site: &UpgradeSite) -> Vec<String> {
    site.conda_calls()
        .into_iter()
        .filter(|c| c.first().is_some_and(|a| a == "proup"))
        .map(|c| c.join(" "))
        .collect()
}

#[test]
fn regression_a_plan_made_in_the_site_folder_failed_everywhere_once_moved() {
    let site = UpgradeSite::new();
    let server = Server::start(services_from(&site.store()), false);
    let share = tempfile::tempdir().unwrap();
    let elsewhere = tempfile::tempdir().unwrap();
    // `cd site && gpaudit plan site.toml -o plan.json`, then the plan is
    // moved to a share.
    let made = gpaudit(
        &site,
        &server,
        site.dir.path(),
        &["plan", "site.toml", "--format", "json", "-o", "plan.json"],
    );
    assert_eq!(made.code, 0, "{}", made.all());
    let plan = share.path().join("plan.json");
    std::fs::rename(site.dir.path().join("plan.json"), &plan).unwrap();

    // Its paths are relative to the site file (the machines are copies no
    // path_map names), never to the folder it was made in.
    let json = plan_json(&plan);
    assert_eq!(json["schema"], 3);
    let gis1 = &json["machines"][0];
    assert_eq!(
        gis1["python_root"],
        "gis1/framework/runtime/ArcGIS/bin/Python"
    );
    assert_eq!(
        gis1["envs"][0]["path"],
        "gis1/framework/runtime/ArcGIS/bin/Python/envs/hydro"
    );
    assert!(Path::new(json["site_file"].as_str().unwrap()).is_absolute());

    // Applied from a third folder: every env and service is as planned
    // (it said "no longer exists" and "changed since the plan" before).
    let plan_arg = plan.to_str().unwrap();
    let dry = gpaudit(&site, &server, elsewhere.path(), &["apply", plan_arg]);
    assert_eq!(dry.code, 0, "{}", dry.all());
    assert!(!dry.stdout.contains("FAILED"), "{}", dry.stdout);
    assert!(
        dry.stdout
            .contains("env GIS1/hydro: unchanged since the plan"),
        "{}",
        dry.stdout
    );
    assert!(
        dry.stdout
            .contains("services of GIS2/survey: 1 unchanged since the plan"),
        "{}",
        dry.stdout
    );

    // A service moved to another env since the plan is still refused.
    let tally = site
        .store()
        .join("services/Survey/Tally.GPServer/Tally.GPServer.json");
    let text = std::fs::read_to_string(&tally).unwrap();
    std::fs::write(&tally, text.replace("\"survey\"", "\"hydro\"")).unwrap();
    let changed = gpaudit(&site, &server, elsewhere.path(), &["apply", plan_arg]);
    assert_eq!(changed.code, 1, "{}", changed.all());
    assert!(
        changed
            .stdout
            .contains("FAILED services of GIS1/survey: changed since the plan"),
        "{}",
        changed.stdout
    );
    std::fs::write(&tally, text).unwrap();

    // And it runs, with the stand-in conda, from there.
    let run = gpaudit(
        &site,
        &server,
        elsewhere.path(),
        &["apply", plan_arg, "--execute"],
    );
    assert_eq!(run.code, 0, "{}", run.all());
    assert_eq!(
        proups(&site),
        [
            "proup -n hydro",
            "proup -n survey",
            "proup -n hydro",
            "proup -n survey"
        ]
    );
}

#[test]
fn a_plan_applied_where_the_path_map_differs_finds_that_machines_paths() {
    let site = UpgradeSite::with_machines(&["gis1"]);
    let server = Server::start(services_from(&site.store()), false);
    let site_file = site.site_file();
    let toml = std::fs::read_to_string(&site_file).unwrap();
    let as_server = |folder: &str| {
        toml.replace(
            "install_dir = 'gis1'",
            &format!(
                "install_dir = 'C:\\Program Files\\ArcGIS\\Server'\npath_map = {{ 'C:\\Program Files\\ArcGIS\\Server' = '{folder}' }}"
            ),
        )
    };
    std::fs::write(&site_file, as_server("gis1")).unwrap();
    let share = tempfile::tempdir().unwrap();
    let plan = share.path().join("plan.json");
    let plan_arg = plan.to_str().unwrap();
    let made = gpaudit(
        &site,
        &server,
        site.dir.path(),
        &["plan", "site.toml", "--format", "json", "-o", plan_arg],
    );
    assert_eq!(made.code, 0, "{}", made.all());
    // The plan speaks of the server's paths, in its commands too.
    let json = plan_json(&plan);
    let root = r"C:\Program Files\ArcGIS\Server\framework\runtime\ArcGIS\bin\Python";
    let machine = &json["machines"][0];
    assert_eq!(machine["python_root"], root);
    assert_eq!(machine["envs"][0]["path"], format!(r"{root}\envs\hydro"));
    assert_eq!(
        machine["envs"][0]["steps"][2]["argv"][0],
        format!(r"{root}\Scripts\conda.exe")
    );
    let text = gpaudit(
        &site,
        &server,
        site.dir.path(),
        &["plan", "site.toml", "--format", "markdown"],
    );
    assert!(
        text.stdout
            .contains(&format!(r"{root}\Scripts\conda.exe proup -n hydro")),
        "{}",
        text.stdout
    );

    // On this machine the install is elsewhere: its site file says so.
    std::fs::create_dir(site.dir.path().join("elsewhere")).unwrap();
    std::fs::rename(
        site.dir.path().join("gis1"),
        site.dir.path().join("elsewhere/gis1"),
    )
    .unwrap();
    std::fs::write(&site_file, as_server("elsewhere/gis1")).unwrap();
    let dry = gpaudit(&site, &server, share.path(), &["apply", plan_arg]);
    assert_eq!(dry.code, 0, "{}", dry.all());
    assert!(
        dry.stdout
            .contains(&format!(r"conda {root}\Scripts\conda.exe (at ")),
        "{}",
        dry.stdout
    );
    assert!(
        dry.stdout.contains(&common::native(&format!(
            "{}/elsewhere/gis1/framework/runtime/ArcGIS/bin/Python/Scripts/conda.exe here): answers",
            site.dir.path().display()
        ))),
        "{}",
        dry.stdout
    );
    let run = gpaudit(
        &site,
        &server,
        share.path(),
        &["apply", plan_arg, "--execute"],
    );
    assert_eq!(run.code, 0, "{}", run.all());
    assert_eq!(proups(&site), ["proup -n hydro", "proup -n survey"]);
    // The envs upgraded are the ones where this site file says.
    let hydro = site
        .dir
        .path()
        .join("elsewhere/gis1/framework/runtime/ArcGIS/bin/Python/envs/hydro/conda-meta");
    assert!(std::fs::read_dir(&hydro)
        .unwrap()
        .flatten()
        .any(|e| e.file_name().to_string_lossy().starts_with("arcpy-3.3")));
}

#[test]
fn an_earlier_plan_schema_is_refused_saying_why() {
    let site = UpgradeSite::with_machines(&["gis1"]);
    let server = Server::start(services_from(&site.store()), false);
    let share = tempfile::tempdir().unwrap();
    let plan = share.path().join("plan.json");
    let plan_arg = plan.to_str().unwrap();
    let site_arg = site.site_file();
    let made = gpaudit(
        &site,
        &server,
        share.path(),
        &[
            "plan",
            site_arg.to_str().unwrap(),
            "--format",
            "json",
            "-o",
            plan_arg,
        ],
    );
    assert_eq!(made.code, 0, "{}", made.all());
    let mut json = plan_json(&plan);
    json["schema"] = 2.into();
    std::fs::write(&plan, json.to_string()).unwrap();
    let run = gpaudit(&site, &server, share.path(), &["apply", plan_arg]);
    assert_eq!(run.code, 2, "{}", run.all());
    assert!(
        run.stderr
            .contains("plan schema 2 was made by an earlier gpaudit")
            && run.stderr.contains("make the plan again"),
        "{}",
        run.stderr
    );
    assert!(proups(&site).is_empty());
}

/// On the machine gpaudit runs on (`local = true`) a path read is the
/// server's own: the plan writes it absolute, and a plan made with a
/// relative site path agrees with apply's rescan (the services' bound envs
/// included) from any folder.
#[test]
fn a_local_machines_plan_writes_its_own_absolute_paths_and_applies_elsewhere() {
    let site = UpgradeSite::with_machines(&["gis1"]);
    let server = Server::start(services_from(&site.store()), false);
    let site_file = site.site_file();
    let toml = std::fs::read_to_string(&site_file).unwrap();
    std::fs::write(
        &site_file,
        toml.replace("install_dir = 'gis1'", "install_dir = 'gis1'\nlocal = true"),
    )
    .unwrap();
    let share = tempfile::tempdir().unwrap();
    let plan = share.path().join("plan.json");
    let plan_arg = plan.to_str().unwrap();
    let made = gpaudit(
        &site,
        &server,
        site.dir.path(),
        &["plan", "site.toml", "--format", "json", "-o", plan_arg],
    );
    assert_eq!(made.code, 0, "{}", made.all());
    let json = plan_json(&plan);
    let path = json["machines"][0]["envs"][0]["path"].as_str().unwrap();
    assert!(Path::new(path).is_absolute(), "{path}");
    let dry = gpaudit(&site, &server, share.path(), &["apply", plan_arg]);
    assert_eq!(dry.code, 0, "{}", dry.all());
    assert!(
        dry.stdout
            .contains("services of GIS1/hydro: 2 unchanged since the plan"),
        "{}",
        dry.stdout
    );
}
