//! JSON → FHIR XML, written while the JSON is walked: each element is emitted as soon as it is
//! reached (a Bundle entry by entry), and no XML tree is built.

use std::borrow::Cow;
use std::io::Write;

use quick_xml::Writer;
use quick_xml::events::{BytesDecl, BytesStart, BytesText, Event};
use quick_xml::{Reader, XmlVersion};
use serde_json::{Map, Value as Json};

use super::{FHIR_NS, XHTML_NS, XmlError};
use crate::fhir::{Child, Definitions, Scope};

/// Writes `resource` (a resource in FHIR JSON: Bundles, OperationOutcomes and the
/// CapabilityStatement included) to `out` as FHIR XML, indented by two spaces when `pretty`,
/// and gives `out` back.
pub fn write_resource<W: Write>(out: W, resource: &Json, pretty: bool) -> Result<W, XmlError> {
    let out = if pretty {
        Writer::new_with_indent(out, b' ', 2)
    } else {
        Writer::new(out)
    };
    let mut e = Emitter {
        out,
        defs: Definitions::r4(),
        path: Vec::new(),
    };
    e.out
        .write_event(Event::Decl(BytesDecl::new("1.0", Some("UTF-8"), None)))?;
    let obj = resource
        .as_object()
        .ok_or_else(|| e.error("", "a resource is a JSON object"))?;
    e.resource(obj, true)?;
    Ok(e.out.into_inner())
}

/// [`write_resource`] into a string.
pub fn to_string(resource: &Json, pretty: bool) -> Result<String, XmlError> {
    let bytes = write_resource(Vec::new(), resource, pretty)?;
    Ok(String::from_utf8(bytes).expect("the writer writes UTF-8 only"))
}

struct Emitter<'d, 'j, W: Write> {
    out: Writer<W>,
    defs: &'d Definitions,
    /// Element names from the root, for error messages.
    path: Vec<&'j str>,
}

/// One element of a JSON object: its value and its `_name` companion (a primitive's id and
/// extensions), either of which may be absent.
struct Member<'d, 'j> {
    name: &'j str,
    child: Child<'d>,
    value: Option<&'j Json>,
    ext: Option<&'j Json>,
}

impl<'d, 'j, W: Write> Emitter<'d, 'j, W> {
    fn error(&self, at: &str, reason: impl Into<String>) -> XmlError {
        let mut path = self.path.join(".");
        if !at.is_empty() {
            if !path.is_empty() {
                path.push('.');
            }
            path.push_str(at);
        }
        if path.is_empty() {
            path.push_str("resource");
        }
        XmlError::Json {
            path,
            reason: reason.into(),
        }
    }

    /// `<Patient>...</Patient>`, with the FHIR namespace declared on the root.
    fn resource(&mut self, obj: &'j Map<String, Json>, root: bool) -> Result<(), XmlError> {
        let rt = match obj.get("resourceType") {
            Some(Json::String(rt)) => rt.as_str(),
            _ => return Err(self.error("", "a resource without resourceType")),
        };
        let scope = self
            .defs
            .scope(rt)
            .filter(|_| self.defs.is_resource_type(rt))
            .ok_or_else(|| self.error(rt, "unknown resource type"))?;
        let mut start = BytesStart::new(rt);
        if root {
            start.push_attribute(("xmlns", FHIR_NS));
        }
        self.path.push(rt);
        self.complex(start, scope, obj, true)?;
        self.path.pop();
        Ok(())
    }

    /// A resource, data type or backbone element: attributes (`id`, `url`) on `start`, then
    /// the child elements in definition order.
    fn complex(
        &mut self,
        mut start: BytesStart<'_>,
        scope: Scope<'d>,
        obj: &'j Map<String, Json>,
        is_resource: bool,
    ) -> Result<(), XmlError> {
        let members = self.members(scope, obj, is_resource)?;
        let mut elements = Vec::with_capacity(members.len());
        for m in members {
            if !m.child.element.xml_attr {
                elements.push(m);
                continue;
            }
            if m.ext.is_some() {
                return Err(self.error(m.name, "an XML attribute cannot have extensions"));
            }
            match m.value {
                Some(Json::String(s)) => start.push_attribute((m.name, xml_text(s).as_ref())),
                None | Some(Json::Null) => {}
                Some(_) => return Err(self.error(m.name, "must be a string")),
            }
        }
        if elements.is_empty() {
            self.out.write_event(Event::Empty(start))?;
            return Ok(());
        }
        let end = start.to_end().into_owned();
        self.out.write_event(Event::Start(start))?;
        for m in &elements {
            self.path.push(m.name);
            self.member(m)?;
            self.path.pop();
        }
        self.out.write_event(Event::End(end))?;
        Ok(())
    }

    /// The members of `obj`, each with its definition, in definition order.
    fn members(
        &self,
        scope: Scope<'d>,
        obj: &'j Map<String, Json>,
        is_resource: bool,
    ) -> Result<Vec<Member<'d, 'j>>, XmlError> {
        let mut members: Vec<Member<'d, 'j>> = Vec::with_capacity(obj.len());
        for (key, value) in obj {
            if is_resource && key == "resourceType" {
                continue;
            }
            let (name, is_ext) = match key.strip_prefix('_') {
                Some(name) => (name, true),
                None => (key.as_str(), false),
            };
            let child = self.defs.child(scope, name).ok_or_else(|| {
                self.error(key, format!("{} has no element `{name}`", scope.path()))
            })?;
            let i = match members.iter().position(|m| m.name == name) {
                Some(i) => i,
                None => {
                    members.push(Member {
                        name,
                        child,
                        value: None,
                        ext: None,
                    });
                    members.len() - 1
                }
            };
            if is_ext {
                members[i].ext = Some(value);
            } else {
                members[i].value = Some(value);
            }
        }
        members.sort_by_key(|m| m.child.order);
        Ok(members)
    }

    /// Every occurrence of one element.
    fn member(&mut self, m: &Member<'d, 'j>) -> Result<(), XmlError> {
        let type_code = m.child.type_code;
        let Some(scope) = m.child.scope else {
            let values = items(m.value);
            let exts = items(m.ext);
            for i in 0..values.len().max(exts.len()) {
                self.primitive(m.name, type_code, values.get(i), exts.get(i))?;
            }
            return Ok(());
        };
        if m.ext.is_some() {
            return Err(self.error(
                "",
                "only primitives have a `_` companion (id and extensions)",
            ));
        }
        for item in items(m.value) {
            let Json::Object(obj) = item else {
                return Err(self.error("", format!("a {type_code} is a JSON object")));
            };
            if type_code == "Resource" {
                let start = BytesStart::new(m.name);
                let end = start.to_end().into_owned();
                self.out.write_event(Event::Start(start))?;
                self.resource(obj, false)?;
                self.out.write_event(Event::End(end))?;
            } else {
                self.complex(BytesStart::new(m.name), scope, obj, false)?;
            }
        }
        Ok(())
    }

    /// `<name id=".." value="..">` with the companion's extensions inside.
    fn primitive(
        &mut self,
        name: &str,
        type_code: &str,
        value: Option<&'j Json>,
        ext: Option<&'j Json>,
    ) -> Result<(), XmlError> {
        let value = value.filter(|v| !v.is_null());
        let ext = ext.filter(|v| !v.is_null());
        if value.is_none() && ext.is_none() {
            return Ok(());
        }
        if type_code == "xhtml" {
            return match (value, ext) {
                (Some(Json::String(div)), None) => self.xhtml(div),
                _ => Err(self.error("", "the narrative is a string, without extensions")),
            };
        }
        let mut start = BytesStart::new(name);
        let mut extensions: &[Json] = &[];
        if let Some(ext) = ext {
            let Json::Object(ext) = ext else {
                return Err(self.error("", format!("_{name} is a JSON object")));
            };
            for (k, v) in ext {
                match (k.as_str(), v) {
                    ("id", Json::String(id)) => start.push_attribute(("id", xml_text(id).as_ref())),
                    ("extension", Json::Array(list)) => extensions = list,
                    _ => {
                        return Err(self.error(
                            "",
                            format!("_{name}.{k}: a primitive's `_` companion has only id (a string) and extension (an array)"),
                        ));
                    }
                }
            }
        }
        if let Some(v) = value {
            let text = match v {
                Json::String(s) => xml_text(s),
                Json::Number(n) => Cow::Owned(n.to_string()),
                Json::Bool(b) => Cow::Borrowed(if *b { "true" } else { "false" }),
                _ => return Err(self.error("", format!("a {type_code} is not an object or array"))),
            };
            start.push_attribute(("value", text.as_ref()));
        }
        if extensions.is_empty() {
            self.out.write_event(Event::Empty(start))?;
            return Ok(());
        }
        let end = start.to_end().into_owned();
        self.out.write_event(Event::Start(start))?;
        let scope = self.defs.scope("Extension").expect("Extension is defined");
        for x in extensions {
            let Json::Object(x) = x else {
                return Err(self.error("extension", "an Extension is a JSON object"));
            };
            self.complex(BytesStart::new("extension"), scope, x, false)?;
        }
        self.out.write_event(Event::End(end))?;
        Ok(())
    }

    /// The narrative: its XHTML as it is when it is well-formed XML with a `div` root in the
    /// XHTML namespace (the namespace is added when it is missing); otherwise, so the
    /// document stays well-formed, a `div` holding it as text.
    fn xhtml(&mut self, div: &str) -> Result<(), XmlError> {
        let div = div.trim();
        match check_xhtml(div) {
            Xhtml::Valid { has_namespace } => {
                self.out.write_indent()?;
                let raw = self.out.get_mut();
                if has_namespace {
                    raw.write_all(div.as_bytes())?;
                } else {
                    raw.write_all(b"<div xmlns=\"")?;
                    raw.write_all(XHTML_NS.as_bytes())?;
                    raw.write_all(b"\"")?;
                    raw.write_all(&div.as_bytes()["<div".len()..])?;
                }
            }
            Xhtml::Invalid => {
                let mut start = BytesStart::new("div");
                start.push_attribute(("xmlns", XHTML_NS));
                let end = start.to_end().into_owned();
                self.out.write_event(Event::Start(start))?;
                self.out
                    .write_event(Event::Text(BytesText::new(&xml_text(div))))?;
                self.out.write_event(Event::End(end))?;
            }
        }
        Ok(())
    }
}

/// The items of an element: the array's, or the single value.
fn items(value: Option<&Json>) -> &[Json] {
    match value {
        None => &[],
        Some(Json::Array(list)) => list,
        Some(v) => std::slice::from_ref(v),
    }
}

/// Whether XML 1.0 can hold `c` at all (not even as a character reference).
fn is_xml_char(c: char) -> bool {
    !matches!(c, '\u{0}'..='\u{8}' | '\u{B}' | '\u{C}' | '\u{E}'..='\u{1F}' | '\u{FFFE}' | '\u{FFFF}')
}

/// `s` with the characters XML cannot hold (control characters) replaced by U+FFFD.
fn xml_text(s: &str) -> Cow<'_, str> {
    if s.chars().all(is_xml_char) {
        Cow::Borrowed(s)
    } else {
        Cow::Owned(
            s.chars()
                .map(|c| if is_xml_char(c) { c } else { '\u{FFFD}' })
                .collect(),
        )
    }
}

#[derive(Debug, PartialEq, Eq)]
enum Xhtml {
    /// Well-formed, one `div` root, no entity but XML's five; its `xmlns` is the XHTML one or
    /// absent.
    Valid { has_namespace: bool },
    /// Anything else.
    Invalid,
}

/// Whether a narrative can be embedded as it is (see [`Xhtml`]).
fn check_xhtml(div: &str) -> Xhtml {
    if !div.chars().all(is_xml_char) {
        return Xhtml::Invalid;
    }
    let mut reader = Reader::from_str(div);
    reader.config_mut().check_comments = true;
    let mut depth = 0usize;
    let mut has_namespace = None;
    loop {
        let event = match reader.read_event() {
            Ok(event) => event,
            Err(_) => return Xhtml::Invalid,
        };
        let (start, opens) = match event {
            Event::Start(e) => (e, true),
            Event::Empty(e) => (e, false),
            Event::End(_) => {
                depth -= 1;
                continue;
            }
            Event::Text(t) if depth > 0 || is_blank(&t) => continue,
            Event::GeneralRef(r) if depth > 0 => {
                let ok = if r.is_char_ref() {
                    matches!(r.resolve_char_ref(), Ok(Some(c)) if is_xml_char(c))
                } else {
                    matches!(&*r, "lt" | "gt" | "amp" | "apos" | "quot")
                };
                if !ok {
                    return Xhtml::Invalid;
                }
                continue;
            }
            Event::CData(_) | Event::Comment(_) if depth > 0 => continue,
            Event::Eof if depth == 0 => {
                return match has_namespace {
                    Some(has_namespace) => Xhtml::Valid { has_namespace },
                    None => Xhtml::Invalid,
                };
            }
            _ => return Xhtml::Invalid,
        };
        for attr in start.attributes().with_checks(true) {
            let Ok(attr) = attr else {
                return Xhtml::Invalid;
            };
            let Ok(value) = attr.normalized_value(XmlVersion::Implicit1_0) else {
                return Xhtml::Invalid;
            };
            if depth == 0 && attr.key.as_ref() == "xmlns" && value != XHTML_NS {
                return Xhtml::Invalid;
            }
        }
        if depth == 0 {
            if has_namespace.is_some() || start.name().as_ref() != "div" {
                return Xhtml::Invalid;
            }
            has_namespace = Some(
                start
                    .attributes()
                    .flatten()
                    .any(|a| a.key.as_ref() == "xmlns"),
            );
        }
        if opens {
            depth += 1;
        }
    }
}

fn is_blank(text: &str) -> bool {
    text.bytes().all(|b| b.is_ascii_whitespace())
}
