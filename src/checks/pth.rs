//! `pth-path-outside-env`: a `.pth` file (made by hand, or pip's) puts a
//! folder outside the env on `sys.path`, a share (`\\fileserver\gp\lib`)
//! or another drive (`D:\gp`): the env's services depend on it being there,
//! on every machine. gpaudit does not read it; the imports that nothing in
//! the env provides are presumed to come from it and are named here instead
//! of as `service-import-unresolved`.

use super::{env_finding, service_code, Context};
use crate::finding::{Code, Finding};

pub fn pth_path_outside_env(ctx: &Context) -> Vec<Finding> {
    let mut out = Vec::new();
    for machine in &ctx.snapshot.machines {
        for env in &machine.envs {
            let index = ctx.index(env);
            let outside: Vec<_> = index.outside_paths().collect();
            if outside.is_empty() {
                continue;
            }
            let imports = service_code::unprovided_imports(ctx, machine, env);
            for (file, dir) in outside {
                let projects: Vec<&str> =
                    file.editables.iter().map(|e| e.project.as_str()).collect();
                let who = match (projects.is_empty(), &file.owner) {
                    (false, _) => format!(
                        "the editable install of {} (pip-editable)",
                        projects.join(", ")
                    ),
                    (true, None) => {
                        "made by hand (no package owns it, so conda proup does not carry it over)"
                            .to_string()
                    }
                    (true, Some(_)) => "installed by pip".to_string(),
                };
                let mut message = format!(
                    "{}, {who}, in env `{}` on {} adds `{dir}`, outside the env, to sys.path: the env's services depend on that folder being reachable, from every machine, whenever they start",
                    file.file_name(),
                    env.name,
                    machine.name
                );
                if !imports.is_empty() {
                    message.push_str(&format!(
                        "; nothing in the env provides these imports, so they can only come from there (gpaudit does not read it): {}",
                        imports.join(", ")
                    ));
                }
                out.push(
                    env_finding(Code::PthPathOutsideEnv, message, machine, env)
                        .expected("folders inside the env")
                        .found(dir.to_string())
                        .location(crate::paths::join_displayed(&env.path, &file.path)),
                );
            }
        }
    }
    out
}
