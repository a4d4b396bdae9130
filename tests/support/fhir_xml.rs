//! Checks of the FHIR XML the server writes that do not rely on the code under test.
//!
//! - [`check_structure`]: every element is known, in the order of its type's definition,
//!   repeated only when it repeats, primitives are `value`/`id` attributes with `extension`
//!   children, `Element.id` and `Extension.url` are attributes, nested resources are wrapped,
//!   and the narrative is a `div` in the XHTML namespace. Element names, order, repetition and
//!   types are read from the official FHIR R4 JSON Schema (`tests/fixtures/fhir.schema.json`),
//!   whose `properties` list each type's elements in StructureDefinition order (as
//!   `tests/fhir_definitions.rs` checks against the StructureDefinitions); the official
//!   XML schema (`fhir-all.xsd`) is not among the R4 files the project has.
//! - [`xmllint`]: libxml2's parser reads every document (well-formedness and namespaces).
//!   `xmllint` comes from Debian's `libxml2-utils`, installed on first use when missing; when it
//!   cannot be installed the check is skipped with a NOTICE, except under `CI=true`.

#![allow(dead_code)] // each test binary uses only part of this module

use std::path::Path;
use std::process::Command;
use std::sync::OnceLock;

use quick_xml::events::{BytesStart, Event};
use quick_xml::{Reader, XmlVersion};
use serde_json::Value;

const FHIR_NS: &str = "http://hl7.org/fhir";
const XHTML_NS: &str = "http://www.w3.org/1999/xhtml";

/// Checks the structure of the FHIR XML document `xml` (see the module docs).
pub fn check_structure(xml: &str) -> Result<(), String> {
    let mut c = Checker {
        reader: Reader::from_str(xml),
        defs: crate::fhir_schema::definitions()
            .as_object()
            .expect("definitions"),
        path: Vec::new(),
    };
    let (root, empty) = loop {
        match c.next()? {
            Event::Decl(_) | Event::Comment(_) => {}
            Event::Text(t) if blank(&t) => {}
            Event::Start(e) => break (e, false),
            Event::Empty(e) => break (e, true),
            other => return Err(format!("{other:?} before the root element")),
        }
    };
    if attributes(&root)?.get("xmlns").map(String::as_str) != Some(FHIR_NS) {
        return Err("the root element is not in the FHIR namespace".into());
    }
    c.resource(&root, empty)?;
    loop {
        match c.next()? {
            Event::Eof => return Ok(()),
            Event::Text(t) if blank(&t) => {}
            Event::Comment(_) => {}
            other => return Err(format!("{other:?} after the root element")),
        }
    }
}

/// Panics with the reason and the document unless [`check_structure`] passes.
#[track_caller]
pub fn assert_structure(what: &str, xml: &str) {
    if let Err(e) = check_structure(xml) {
        let end = xml.char_indices().nth(4000).map_or(xml.len(), |(i, _)| i);
        panic!(
            "{what}: the XML does not follow the FHIR definitions: {e}\n{}",
            &xml[..end]
        );
    }
}

fn blank(t: &str) -> bool {
    t.bytes().all(|b| b.is_ascii_whitespace())
}

fn attributes(e: &BytesStart<'_>) -> Result<Map<String, String>, String> {
    let mut out = Map::new();
    for a in e.attributes().with_checks(true) {
        let a = a.map_err(|e| e.to_string())?;
        let value = a
            .normalized_value(XmlVersion::Implicit1_0)
            .map_err(|e| e.to_string())?;
        out.insert(a.key.as_ref().to_owned(), value.into_owned());
    }
    Ok(out)
}

struct Checker<'x> {
    reader: Reader<&'x [u8]>,
    defs: &'static serde_json::Map<String, Value>,
    path: Vec<String>,
}

type Map<K, V> = std::collections::BTreeMap<K, V>;

impl<'x> Checker<'x> {
    fn next(&mut self) -> Result<Event<'x>, String> {
        self.reader
            .read_event()
            .map_err(|e| format!("at byte {}: {e}", self.reader.buffer_position()))
    }

    fn fail<T>(&self, why: impl std::fmt::Display) -> Result<T, String> {
        Err(format!("{}: {why}", self.path.join("/")))
    }

    /// The next child element, or `None` at the parent's end tag.
    fn child(&mut self) -> Result<Option<(BytesStart<'x>, bool)>, String> {
        loop {
            match self.next()? {
                Event::Start(e) => return Ok(Some((e, false))),
                Event::Empty(e) => return Ok(Some((e, true))),
                Event::End(_) => return Ok(None),
                Event::Comment(_) => {}
                Event::Text(t) if blank(&t) => {}
                other => return self.fail(format!("unexpected {other:?}")),
            }
        }
    }

    fn properties(&self, type_name: &str) -> Option<&'static serde_json::Map<String, Value>> {
        self.defs.get(type_name)?.get("properties")?.as_object()
    }

    fn resource(&mut self, e: &BytesStart<'_>, empty: bool) -> Result<(), String> {
        let name = e.local_name().as_ref().to_owned();
        self.path.push(name.clone());
        if !self
            .properties(&name)
            .is_some_and(|p| p.contains_key("resourceType"))
        {
            return self.fail("not a resource type");
        }
        self.complex(e, empty, &name, true)?;
        self.path.pop();
        Ok(())
    }

    fn complex(
        &mut self,
        e: &BytesStart<'_>,
        empty: bool,
        type_name: &str,
        is_resource: bool,
    ) -> Result<(), String> {
        let props = self
            .properties(type_name)
            .ok_or_else(|| format!("no definition of {type_name}"))?;
        for (key, value) in attributes(e)? {
            let ok = match key.as_str() {
                "xmlns" => value == FHIR_NS,
                "id" => !is_resource && props.contains_key("id"),
                "url" => type_name == "Extension",
                _ => false,
            };
            if !ok {
                return self.fail(format!("attribute {key}=\"{value}\" on a {type_name}"));
            }
        }
        if empty {
            return Ok(());
        }
        let names: Vec<&str> = props
            .keys()
            .map(String::as_str)
            .filter(|k| !k.starts_with('_') && *k != "resourceType")
            .collect();
        let mut last: Option<(usize, String)> = None;
        while let Some((child, child_empty)) = self.child()? {
            let name = child.local_name().as_ref().to_owned();
            let Some(index) = names.iter().position(|n| *n == name) else {
                return self.fail(format!("{type_name} has no element {name}"));
            };
            if (name == "id" && !is_resource) || (name == "url" && type_name == "Extension") {
                return self.fail(format!("{name} must be an attribute"));
            }
            let prop = &props[&name];
            let repeats = prop.get("type").and_then(Value::as_str) == Some("array");
            if let Some((l, last_name)) = &last {
                if index < *l {
                    return self.fail(format!(
                        "{name} after {last_name}: not the order of {type_name}'s elements"
                    ));
                }
                if index == *l && !repeats {
                    return self.fail(format!("{name} repeated, but it does not repeat"));
                }
            }
            last = Some((index, name.clone()));
            let item = prop.get("items").unwrap_or(prop);
            let target = match item.get("$ref").and_then(Value::as_str) {
                Some(r) => r.strip_prefix("#/definitions/").unwrap_or(r),
                // Codes of a required binding (an enum), booleans, some choices: written
                // inline, always primitives.
                None => "primitive",
            };
            self.path.push(name);
            self.element(&child, child_empty, target)?;
            self.path.pop();
        }
        Ok(())
    }

    fn element(&mut self, e: &BytesStart<'_>, empty: bool, target: &str) -> Result<(), String> {
        let attrs = attributes(e)?;
        match target {
            "ResourceList" => {
                if !attrs.is_empty() || empty {
                    return self.fail("a resource wrapper has no attributes and one resource");
                }
                let Some((inner, inner_empty)) = self.child()? else {
                    return self.fail("an empty resource wrapper");
                };
                self.resource(&inner, inner_empty)?;
                if self.child()?.is_some() {
                    return self.fail("a resource wrapper holds one resource");
                }
                Ok(())
            }
            "xhtml" => {
                if e.local_name().as_ref() != "div"
                    || attrs.get("xmlns").map(String::as_str) != Some(XHTML_NS)
                {
                    return self.fail("the narrative is a div in the XHTML namespace");
                }
                if !empty {
                    let mut depth = 1;
                    while depth > 0 {
                        match self.next()? {
                            Event::Start(_) => depth += 1,
                            Event::End(_) => depth -= 1,
                            Event::Eof => return self.fail("unterminated narrative"),
                            _ => {}
                        }
                    }
                }
                Ok(())
            }
            t if self.properties(t).is_some() => self.complex(e, empty, t, false),
            primitive => {
                if let Some(k) = attrs.keys().find(|k| *k != "value" && *k != "id") {
                    return self.fail(format!("attribute {k} on a {primitive}"));
                }
                let mut extensions = 0;
                if !empty {
                    while let Some((x, x_empty)) = self.child()? {
                        if x.local_name().as_ref() != "extension" {
                            return self.fail(format!("a {primitive} holds only extensions"));
                        }
                        self.path.push("extension".into());
                        self.complex(&x, x_empty, "Extension", false)?;
                        self.path.pop();
                        extensions += 1;
                    }
                }
                if !attrs.contains_key("value") && extensions == 0 {
                    return self.fail(format!("a {primitive} with neither value nor extension"));
                }
                Ok(())
            }
        }
    }
}

/// Where `xmllint` is, installed from Debian's `libxml2-utils` on first use; `None` (after a
/// NOTICE) when it cannot be had outside CI.
fn xmllint_path() -> Option<&'static str> {
    static FOUND: OnceLock<Option<&'static str>> = OnceLock::new();
    *FOUND.get_or_init(|| {
        let works = || {
            Command::new("xmllint")
                .arg("--version")
                .output()
                .is_ok_and(|o| o.status.success())
        };
        if works() {
            return Some("xmllint");
        }
        let install = |args: &[&str]| {
            Command::new("apt-get")
                .args(args)
                .env("DEBIAN_FRONTEND", "noninteractive")
                .output()
                .is_ok_and(|o| o.status.success())
        };
        if !install(&["install", "-y", "-q", "libxml2-utils"]) {
            install(&["update", "-q"]);
            install(&["install", "-y", "-q", "libxml2-utils"]);
        }
        if works() {
            return Some("xmllint");
        }
        let why = "xmllint (Debian package libxml2-utils) is missing and cannot be installed";
        if crate::servers::in_ci() {
            panic!("{why} (CI=true requires it)");
        }
        eprintln!("NOTICE: skipping the xmllint checks: {why}");
        None
    })
}

/// The official XML schema, if one is present beside the other R4 definitions.
const XSD: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../shared/fhir/r4/fhir-all.xsd"
);

/// Has libxml2 (`xmllint`) read every document of `docs` (name, XML) — and validate it
/// against `fhir-all.xsd` when that file is present; panics with its messages otherwise.
pub fn xmllint(docs: &[(String, String)]) {
    let Some(xmllint) = xmllint_path() else {
        return;
    };
    let dir = tempfile::tempdir().expect("temp dir");
    let mut cmd = Command::new(xmllint);
    cmd.args(["--noout", "--nonet"]);
    if Path::new(XSD).exists() {
        cmd.args(["--schema", XSD]);
    }
    for (i, (_, xml)) in docs.iter().enumerate() {
        let file = dir.path().join(format!("{i}.xml"));
        std::fs::write(&file, xml).expect("write");
        cmd.arg(file);
    }
    let out = cmd.output().expect("run xmllint");
    if !out.status.success() {
        let stderr = String::from_utf8_lossy(&out.stderr);
        let mut named = stderr.to_string();
        for (i, (name, _)) in docs.iter().enumerate() {
            named = named.replace(&format!("/{i}.xml"), &format!("/{i}.xml ({name})"));
        }
        panic!("xmllint refuses the XML:\n{named}");
    }
}
