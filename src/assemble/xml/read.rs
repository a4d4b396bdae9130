//! FHIR XML → JSON, the inverse of [`super::write`]: what the tests use to check that the XML
//! carries exactly the JSON's content. Which elements repeat (JSON arrays) and which primitives
//! are numbers or booleans comes from the R4 definitions, as in the writer.

use quick_xml::events::{BytesStart, Event};
use quick_xml::{Reader, XmlVersion};
use serde_json::{Map, Number, Value as Json};

use super::{FHIR_NS, XmlError};
use crate::fhir::{Definitions, Scope};

/// The FHIR JSON form of the FHIR XML resource `xml`.
pub fn from_str(xml: &str) -> Result<Json, XmlError> {
    let mut p = Parser {
        reader: Reader::from_str(xml),
        src: xml,
        defs: Definitions::r4(),
    };
    let root = loop {
        match p.next()? {
            Event::Decl(_) | Event::Comment(_) | Event::PI(_) | Event::DocType(_) => {}
            Event::Text(t) if is_blank(&t) => {}
            Event::Start(e) => break p.resource(&e, false, true)?,
            Event::Empty(e) => break p.resource(&e, true, true)?,
            other => return Err(p.error(format!("unexpected {other:?} before the resource"))),
        }
    };
    loop {
        match p.next()? {
            Event::Eof => return Ok(Json::Object(root)),
            Event::Comment(_) | Event::PI(_) => {}
            Event::Text(t) if is_blank(&t) => {}
            other => return Err(p.error(format!("unexpected {other:?} after the resource"))),
        }
    }
}

fn is_blank(text: &str) -> bool {
    text.bytes().all(|b| b.is_ascii_whitespace())
}

struct Parser<'x> {
    reader: Reader<&'x [u8]>,
    src: &'x str,
    defs: &'static Definitions,
}

impl<'x> Parser<'x> {
    fn position(&self) -> usize {
        usize::try_from(self.reader.buffer_position()).unwrap_or(usize::MAX)
    }

    fn error(&self, reason: impl std::fmt::Display) -> XmlError {
        XmlError::Xml(format!("at byte {}: {reason}", self.position()))
    }

    fn next(&mut self) -> Result<Event<'x>, XmlError> {
        self.reader.read_event().map_err(|e| self.error(e))
    }

    /// The next element (skipping blank text and comments), or `None` at the end tag of the
    /// current element; with the position where it starts.
    fn next_element(&mut self) -> Result<Option<(BytesStart<'x>, bool, usize)>, XmlError> {
        loop {
            let at = self.position();
            match self.next()? {
                Event::Start(e) => return Ok(Some((e, false, at))),
                Event::Empty(e) => return Ok(Some((e, true, at))),
                Event::End(_) => return Ok(None),
                Event::Comment(_) => {}
                Event::Text(t) if is_blank(&t) => {}
                other => return Err(self.error(format!("unexpected {other:?}"))),
            }
        }
    }

    fn name(&self, e: &BytesStart<'_>) -> Result<String, XmlError> {
        Ok(e.local_name().as_ref().to_owned())
    }

    /// The attributes of `e` (but namespace declarations), unescaped.
    fn attributes(&self, e: &BytesStart<'_>) -> Result<Vec<(String, String)>, XmlError> {
        let mut out = Vec::new();
        for attr in e.attributes().with_checks(true) {
            let attr = attr.map_err(|e| self.error(e))?;
            let key = attr.key.as_ref();
            let value = attr
                .normalized_value(XmlVersion::Implicit1_0)
                .map_err(|e| self.error(e))?;
            if key == "xmlns" {
                if value != FHIR_NS {
                    return Err(self.error(format!("namespace {value} is not FHIR's")));
                }
                continue;
            }
            out.push((key.to_owned(), value.into_owned()));
        }
        Ok(out)
    }

    /// `<Patient>...</Patient>` (already started).
    fn resource(
        &mut self,
        e: &BytesStart<'_>,
        empty: bool,
        root: bool,
    ) -> Result<Map<String, Json>, XmlError> {
        let rt = self.name(e)?;
        if root && !e.attributes().flatten().any(|a| a.key.as_ref() == "xmlns") {
            return Err(self.error(format!("{rt} is not in the FHIR namespace")));
        }
        let scope = self
            .defs
            .scope(&rt)
            .filter(|_| self.defs.is_resource_type(&rt))
            .ok_or_else(|| self.error(format!("unknown resource type {rt}")))?;
        let mut obj = Map::new();
        obj.insert("resourceType".into(), Json::String(rt));
        self.complex(e, empty, scope, &mut obj)?;
        Ok(obj)
    }

    /// The attributes and children of a resource, data type or backbone element into `obj`.
    fn complex(
        &mut self,
        e: &BytesStart<'_>,
        empty: bool,
        scope: Scope<'static>,
        obj: &mut Map<String, Json>,
    ) -> Result<(), XmlError> {
        for (key, value) in self.attributes(e)? {
            match self.defs.child(scope, &key) {
                Some(c) if c.element.xml_attr => {
                    obj.insert(key, Json::String(value));
                }
                _ => return Err(self.error(format!("{} has no attribute {key}", scope.path()))),
            }
        }
        if empty {
            return Ok(());
        }
        while let Some((child, child_empty, at)) = self.next_element()? {
            self.element(&child, child_empty, at, scope, obj)?;
        }
        // Primitive arrays are filled in step with their `_` companions; drop those that
        // ended with nothing but nulls.
        obj.retain(|_, v| !matches!(v, Json::Array(list) if list.iter().all(Json::is_null)));
        Ok(())
    }

    /// One child element of `scope`, added to `obj`.
    fn element(
        &mut self,
        e: &BytesStart<'x>,
        empty: bool,
        at: usize,
        scope: Scope<'static>,
        obj: &mut Map<String, Json>,
    ) -> Result<(), XmlError> {
        let name = self.name(e)?;
        let child = self
            .defs
            .child(scope, &name)
            .filter(|c| !c.element.xml_attr)
            .ok_or_else(|| self.error(format!("{} has no element {name}", scope.path())))?;
        let repeats = child.element.repeats();
        let Some(child_scope) = child.scope else {
            if child.type_code == "xhtml" {
                let div = self.raw(at, empty)?;
                return self.put(obj, name, repeats, Json::String(div));
            }
            let (value, ext) = self.primitive(e, empty, child.type_code)?;
            if repeats {
                // The value and its companion go in step, so the two arrays keep the same
                // length.
                for (key, v) in [(name.clone(), value), (format!("_{name}"), ext)] {
                    let list = obj.entry(key).or_insert_with(|| Json::Array(Vec::new()));
                    let Json::Array(list) = list else {
                        return Err(self.error(format!("{name} mixes one and many")));
                    };
                    list.push(v.unwrap_or(Json::Null));
                }
                return Ok(());
            }
            if let Some(v) = value {
                self.put(obj, name.clone(), false, v)?;
            }
            if let Some(x) = ext {
                self.put(obj, format!("_{name}"), false, x)?;
            }
            return Ok(());
        };
        let value = if child.type_code == "Resource" {
            if !self.attributes(e)?.is_empty() || empty {
                return Err(self.error(format!("{name} holds one resource")));
            }
            let (inner, inner_empty, _) = self
                .next_element()?
                .ok_or_else(|| self.error(format!("{name} holds one resource")))?;
            let resource = self.resource(&inner, inner_empty, false)?;
            if self.next_element()?.is_some() {
                return Err(self.error(format!("{name} holds one resource")));
            }
            resource
        } else {
            let mut inner = Map::new();
            self.complex(e, empty, child_scope, &mut inner)?;
            inner
        };
        self.put(obj, name, repeats, Json::Object(value))
    }

    fn put(
        &self,
        obj: &mut Map<String, Json>,
        key: String,
        repeats: bool,
        value: Json,
    ) -> Result<(), XmlError> {
        if repeats {
            match obj.entry(key).or_insert_with(|| Json::Array(Vec::new())) {
                Json::Array(list) => list.push(value),
                _ => return Err(self.error("an element both repeats and does not")),
            }
        } else if obj.contains_key(&key) {
            return Err(self.error(format!("{key} does not repeat")));
        } else {
            obj.insert(key, value);
        }
        Ok(())
    }

    /// A primitive: its value (typed as in JSON) and its `_` companion (id, extensions).
    fn primitive(
        &mut self,
        e: &BytesStart<'_>,
        empty: bool,
        type_code: &str,
    ) -> Result<(Option<Json>, Option<Json>), XmlError> {
        let mut value = None;
        let mut ext = Map::new();
        for (key, v) in self.attributes(e)? {
            match key.as_str() {
                "value" => value = Some(self.typed(type_code, v)?),
                "id" => {
                    ext.insert(key, Json::String(v));
                }
                _ => return Err(self.error(format!("a primitive has no attribute {key}"))),
            }
        }
        if !empty {
            let scope = self.defs.scope("Extension").expect("Extension is defined");
            let mut extensions = Vec::new();
            while let Some((x, x_empty, _)) = self.next_element()? {
                if x.local_name().as_ref() != "extension" {
                    return Err(self.error("a primitive holds only extensions"));
                }
                let mut obj = Map::new();
                self.complex(&x, x_empty, scope, &mut obj)?;
                extensions.push(Json::Object(obj));
            }
            if !extensions.is_empty() {
                ext.insert("extension".into(), Json::Array(extensions));
            }
        }
        Ok((value, (!ext.is_empty()).then_some(Json::Object(ext))))
    }

    /// A `value` attribute as JSON writes the type: numbers, booleans, strings.
    fn typed(&self, type_code: &str, v: String) -> Result<Json, XmlError> {
        match type_code {
            "boolean" => match v.as_str() {
                "true" => Ok(Json::Bool(true)),
                "false" => Ok(Json::Bool(false)),
                _ => Err(self.error(format!("boolean value {v}"))),
            },
            "integer" | "positiveInt" | "unsignedInt" | "decimal" => v
                .parse::<Number>()
                .map(Json::Number)
                .map_err(|_| self.error(format!("{type_code} value {v}"))),
            _ => Ok(Json::String(v)),
        }
    }

    /// The source text of the element that started at `at` (and was just read): the narrative
    /// `div`, as written.
    fn raw(&mut self, at: usize, empty: bool) -> Result<String, XmlError> {
        if !empty {
            let mut depth = 1usize;
            while depth > 0 {
                match self.next()? {
                    Event::Start(_) => depth += 1,
                    Event::End(_) => depth -= 1,
                    Event::Eof => return Err(self.error("the narrative does not end")),
                    _ => {}
                }
            }
        }
        Ok(self.src[at..self.position()].to_owned())
    }
}
