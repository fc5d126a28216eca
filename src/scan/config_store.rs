//! Reading `framework/etc/config-store-connection.xml`, a Java properties
//! XML file whose `connectionString` entry names the site's config store.

use crate::read::{read_capped_text, FileProblem};
use quick_xml::events::Event;
use quick_xml::Reader;
use std::path::Path;

/// The `connectionString` entry of a config-store-connection.xml.
pub fn read_connection_string(path: &Path) -> Result<String, FileProblem> {
    let text = read_capped_text(path)?;
    parse_connection_string(&text)
}

fn parse_connection_string(text: &str) -> Result<String, FileProblem> {
    let mut reader = Reader::from_str(text);
    let mut in_entry = false;
    let mut value = String::new();
    loop {
        match reader.read_event() {
            Ok(Event::Start(e)) if e.name().as_ref() == b"entry" => {
                in_entry = e
                    .attributes()
                    .flatten()
                    .any(|a| a.key.as_ref() == b"key" && a.value.as_ref() == b"connectionString");
                value.clear();
            }
            Ok(Event::Text(t)) if in_entry => {
                let s = t
                    .decode()
                    .map_err(|e| FileProblem::new(format!("malformed XML: {e}")))?;
                value.push_str(&s);
            }
            Ok(Event::GeneralRef(r)) if in_entry => {
                let name = r
                    .decode()
                    .map_err(|e| FileProblem::new(format!("malformed XML: {e}")))?;
                let resolved = quick_xml::escape::resolve_predefined_entity(&name)
                    .ok_or_else(|| FileProblem::new(format!("unknown XML entity &{name};")))?;
                value.push_str(resolved);
            }
            Ok(Event::End(e)) if e.name().as_ref() == b"entry" && in_entry => {
                let v = value.trim().to_string();
                if v.is_empty() {
                    return Err(FileProblem::new("the connectionString entry is empty"));
                }
                return Ok(v);
            }
            Ok(Event::Eof) => {
                return Err(FileProblem::new("no connectionString entry"));
            }
            Err(e) => return Err(FileProblem::new(format!("malformed XML: {e}"))),
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_connection_string() {
        let xml = r#"<?xml version="1.0" encoding="UTF-8" standalone="no"?>
<!DOCTYPE properties SYSTEM "http://java.sun.com/dtd/properties.dtd">
<properties>
<entry key="connectionString">\\fileserver\arcgis &amp; co\config-store</entry>
<entry key="type">FILESYSTEM</entry>
</properties>"#;
        assert_eq!(
            parse_connection_string(xml).unwrap(),
            r"\\fileserver\arcgis & co\config-store"
        );
    }

    #[test]
    fn missing_or_broken_entries_are_errors() {
        assert!(parse_connection_string("<properties/>").is_err());
        assert!(
            parse_connection_string("<properties><entry key='connectionString'>x</wrong>").is_err()
        );
        assert!(parse_connection_string(
            "<properties><entry key=\"connectionString\"> </entry></properties>"
        )
        .is_err());
    }
}
