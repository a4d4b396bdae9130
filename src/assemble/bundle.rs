//! searchset Bundles.

use std::fmt;

use serde::ser::{Serialize, SerializeMap, SerializeSeq, Serializer};
use serde_json::{Map, Value as Json, json};

use super::outcome::{Issue, operation_outcome};
use super::served::Resource;

/// A page of search results, ready to be written as a Bundle: serialized straight to JSON
/// ([`Serialize`]), or built as a `serde_json` value ([`searchset`]); both give the same JSON.
pub struct SearchSet<'a> {
    /// FHIR base URL.
    pub base_url: &'a str,
    /// The matches.
    pub resources: Vec<Resource<'a>>,
    /// Resources included by `_include`/`_revinclude`.
    pub included: Vec<Resource<'a>>,
    /// `self` link.
    pub self_link: String,
    /// `next` link.
    pub next_link: Option<String>,
    /// `total`, when counted.
    pub total: Option<u64>,
    /// Warnings (e.g. parameters ignored under lenient handling), as an outcome entry.
    pub warnings: Vec<Issue>,
}

impl SearchSet<'_> {
    /// The resources it returns (matches, then included ones).
    pub fn returned(&self) -> impl Iterator<Item = &Resource<'_>> {
        self.resources.iter().chain(&self.included)
    }

    /// The number of entries: the resources, and the outcome entry when there are warnings.
    pub fn entries(&self) -> usize {
        self.resources.len() + self.included.len() + usize::from(!self.warnings.is_empty())
    }
}

/// The Bundle of type searchset, as a `serde_json` value.
pub fn searchset(set: SearchSet) -> Json {
    let mut links = vec![json!({"relation": "self", "url": set.self_link})];
    if let Some(next) = set.next_link {
        links.push(json!({"relation": "next", "url": next}));
    }
    let entry = |r: Resource, mode: &str| {
        let full_url = format!("{}/{}/{}", set.base_url, r.resource_type(), r.id());
        json!({"fullUrl": full_url, "resource": r.into_map(), "search": {"mode": mode}})
    };
    let mut entries: Vec<Json> = set
        .resources
        .into_iter()
        .map(|r| entry(r, "match"))
        .chain(set.included.into_iter().map(|r| entry(r, "include")))
        .collect();
    if !set.warnings.is_empty() {
        entries.push(json!({
            "resource": operation_outcome(&set.warnings),
            "search": {"mode": "outcome"},
        }));
    }
    let mut bundle = Map::new();
    bundle.insert("resourceType".into(), json!("Bundle"));
    bundle.insert("type".into(), json!("searchset"));
    if let Some(t) = set.total {
        bundle.insert("total".into(), json!(t));
    }
    bundle.insert("link".into(), Json::Array(links));
    if !entries.is_empty() {
        bundle.insert("entry".into(), Json::Array(entries));
    }
    Json::Object(bundle)
}

/// Writes what [`searchset`] builds, member for member.
impl Serialize for SearchSet<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut bundle = s.serialize_map(None)?;
        bundle.serialize_entry("resourceType", "Bundle")?;
        bundle.serialize_entry("type", "searchset")?;
        if let Some(t) = self.total {
            bundle.serialize_entry("total", &t)?;
        }
        bundle.serialize_entry("link", &Links(self))?;
        if self.entries() > 0 {
            bundle.serialize_entry("entry", &Entries(self))?;
        }
        bundle.end()
    }
}

struct Links<'s, 'a>(&'s SearchSet<'a>);

impl Serialize for Links<'_, '_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut seq = s.serialize_seq(None)?;
        seq.serialize_element(&Link("self", &self.0.self_link))?;
        if let Some(next) = &self.0.next_link {
            seq.serialize_element(&Link("next", next))?;
        }
        seq.end()
    }
}

struct Link<'s>(&'static str, &'s str);

impl Serialize for Link<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut map = s.serialize_map(None)?;
        map.serialize_entry("relation", self.0)?;
        map.serialize_entry("url", self.1)?;
        map.end()
    }
}

struct Entries<'s, 'a>(&'s SearchSet<'a>);

impl Serialize for Entries<'_, '_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let set = self.0;
        let mut seq = s.serialize_seq(None)?;
        for r in &set.resources {
            seq.serialize_element(&Entry(set.base_url, r, "match"))?;
        }
        for r in &set.included {
            seq.serialize_element(&Entry(set.base_url, r, "include"))?;
        }
        if !set.warnings.is_empty() {
            seq.serialize_element(&json!({
                "resource": operation_outcome(&set.warnings),
                "search": {"mode": "outcome"},
            }))?;
        }
        seq.end()
    }
}

/// An entry: base URL, resource, search mode.
struct Entry<'s, 'a>(&'s str, &'s Resource<'a>, &'static str);

impl Serialize for Entry<'_, '_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let Entry(base, r, mode) = *self;
        let mut map = s.serialize_map(None)?;
        map.serialize_entry("fullUrl", &FullUrl(base, r))?;
        map.serialize_entry("resource", r)?;
        map.serialize_entry("search", &Mode(mode))?;
        map.end()
    }
}

/// `base/type/id`, written without building the string first.
struct FullUrl<'s, 'a>(&'s str, &'s Resource<'a>);

impl Serialize for FullUrl<'_, '_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl fmt::Display for FullUrl<'_, '_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}/{}", self.0, self.1.resource_type(), self.1.id())
    }
}

struct Mode(&'static str);

impl Serialize for Mode {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut map = s.serialize_map(None)?;
        map.serialize_entry("mode", self.0)?;
        map.end()
    }
}
