//! Where a finding points: a file and, when known, a line, as structured
//! data so every renderer can show or link it its own way. Paths are as
//! gpaudit read them (after a machine's `path_map`).

use serde::{Deserialize, Deserializer, Serializer};
use std::fmt;

/// A file, and a line in it when the finding knows one (1-based).
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Location {
    pub path: String,
    pub line: Option<usize>,
}

impl Location {
    /// A whole file (or folder).
    pub fn file(path: impl Into<String>) -> Location {
        Location {
            path: path.into(),
            line: None,
        }
    }

    /// A line of a file.
    pub fn at(path: impl Into<String>, line: usize) -> Location {
        Location {
            path: path.into(),
            line: Some(line),
        }
    }
}

impl From<String> for Location {
    fn from(path: String) -> Location {
        Location::file(path)
    }
}

impl From<&str> for Location {
    fn from(path: &str) -> Location {
        Location::file(path)
    }
}

impl From<&String> for Location {
    fn from(path: &String) -> Location {
        Location::file(path.as_str())
    }
}

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.line {
            Some(line) => write!(f, "{}:{line}", self.path),
            None => f.write_str(&self.path),
        }
    }
}

/// Locations as one `path[:line], ...` string (report schema 1's `source`).
pub fn joined(locations: &[Location]) -> String {
    locations
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join(", ")
}

pub(crate) fn serialize_joined<S: Serializer>(
    locations: &[Location],
    serializer: S,
) -> Result<S::Ok, S::Error> {
    serializer.serialize_str(&joined(locations))
}

/// Read back what [`serialize_joined`] wrote. A trailing `:digits` is a
/// line; a drive letter (`C:\x`) is not, as it is not at the end.
pub(crate) fn deserialize_joined<'de, D: Deserializer<'de>>(
    deserializer: D,
) -> Result<Vec<Location>, D::Error> {
    let text = String::deserialize(deserializer)?;
    Ok(text
        .split(", ")
        .filter(|s| !s.is_empty())
        .map(|s| match s.rsplit_once(':') {
            Some((path, line))
                if !path.is_empty()
                    && !line.is_empty()
                    && line.bytes().all(|b| b.is_ascii_digit()) =>
            {
                match line.parse() {
                    Ok(n) => Location::at(path, n),
                    Err(_) => Location::file(s),
                }
            }
            _ => Location::file(s),
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn locations_round_trip_through_the_schema_1_string() {
        let locs = vec![
            Location::at("C:\\x\\flood.py", 7),
            Location::file("D:\\envs\\hydro\\conda-meta"),
        ];
        let text = joined(&locs);
        assert_eq!(text, "C:\\x\\flood.py:7, D:\\envs\\hydro\\conda-meta");
        let json = serde_json::to_string(&text).unwrap();
        let mut de = serde_json::Deserializer::from_str(&json);
        assert_eq!(deserialize_joined(&mut de).unwrap(), locs);
    }
}
