//! Names shared by every layer: PEP 503 package-name normalisation and the
//! name of the env every ArcGIS install ships.

/// The env every ArcGIS install ships and every clone starts from.
pub const DEFAULT_ENV: &str = "arcgispro-py3";

/// Whether a service key (`Folder/Name.Type`) is one of Esri's own GP
/// services (`System/*`, `Utilities/*`): their code ships with the install,
/// not in `arcgisinput`, so the code checks leave them out; they still run
/// in the active env.
pub fn is_esri_service(key: &str) -> bool {
    key.split_once('/').is_some_and(|(folder, _)| {
        folder.eq_ignore_ascii_case("System") || folder.eq_ignore_ascii_case("Utilities")
    })
}

/// How conda reads match specs in installed metadata and `pinned`:
/// leniently, and with glob names (`*[build=*mkl]`).
pub fn conda_spec_options() -> rattler_conda_types::ParseMatchSpecOptions {
    rattler_conda_types::ParseMatchSpecOptions::from(rattler_conda_types::ParseStrictness::Lenient)
        .with_exact_names_only(false)
}

/// The CPython an extension file is built for, when its name says
/// (`x.cp37-win_amd64.pyd`, `x.cpython-39-x86_64-linux-gnu.so`); `abi3`
/// and untagged extensions load in any Python 3.
pub fn extension_python(file_name: &str) -> Option<(u32, u32)> {
    let (_, tags) = file_name.split_once('.')?;
    let tag = tags.split(['.', '-']).next()?;
    let digits = match tag.strip_prefix("cpython") {
        Some(_) => tags.split('-').nth(1)?,
        None => tag.strip_prefix("cp")?,
    };
    let digits: String = digits.chars().take_while(char::is_ascii_digit).collect();
    let major = digits.get(..1)?.parse().ok()?;
    let minor = digits.get(1..).filter(|m| !m.is_empty())?.parse().ok()?;
    Some((major, minor))
}

/// `major.minor` of a version string (`3.9.16` → (3, 9)).
pub fn major_minor(version: &str) -> Option<(u32, u32)> {
    let mut parts = version.split('.');
    Some((parts.next()?.parse().ok()?, parts.next()?.parse().ok()?))
}

/// PEP 503 normalisation, for comparing pip names with conda names.
pub fn normalize_dist_name(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    let mut last_sep = false;
    for c in name.chars() {
        if matches!(c, '-' | '_' | '.') {
            if !last_sep {
                out.push('-');
            }
            last_sep = true;
        } else {
            out.push(c.to_ascii_lowercase());
            last_sep = false;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pep503_normalisation_folds_case_and_separator_runs() {
        assert_eq!(normalize_dist_name("Scikit_Learn..x"), "scikit-learn-x");
    }
}
