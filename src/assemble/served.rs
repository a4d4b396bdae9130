//! A resource on its way to the client: as assembled from its rows (serialized straight to
//! JSON), or as a `serde_json` object once something needed the tree (`_summary`,
//! `_elements`, XML).

use serde::{Serialize, Serializer};
use serde_json::value::RawValue;
use serde_json::{Map, Value as Json};

use super::resource::Built;
use super::subset::subset;
use crate::request::subset::Summary;

/// A resource to serve.
#[derive(Debug)]
pub enum Resource<'a> {
    /// As assembled from rows.
    Built(Built<'a>),
    /// As a JSON object.
    Value(Map<String, Json>),
    /// As its JSON text, written as soon as it was assembled ([`Resource::written`]).
    Text(Text<'a>),
}

/// A resource's JSON text, with what is asked of it before it is served.
#[derive(Debug)]
pub struct Text<'a> {
    resource_type: &'a str,
    id: String,
    last_updated: Option<String>,
    json: Box<RawValue>,
}

impl<'a> Resource<'a> {
    /// `built` written as compact JSON now: a page's resources are then each written while
    /// their element tree is fresh in the cache and freed at once, instead of all the trees
    /// being kept until the Bundle is written (and freed after, long out of the cache). For
    /// JSON responses that serve resources whole and compact.
    pub fn written(built: Built<'a>) -> Resource<'a> {
        let json = match built.compact() {
            // SAFETY: `compact` writes one JSON value, without whitespace around it (the
            // contract of `from_string_unchecked`, which debug builds check by parsing it).
            Some(text) => Ok(unsafe { RawValue::from_string_unchecked(text) }),
            None => serde_json::value::to_raw_value(&built),
        };
        match json {
            Ok(json) => Resource::Text(Text {
                resource_type: built.resource_type(),
                id: built.id().to_string(),
                last_updated: built.last_updated().map(str::to_string),
                json,
            }),
            Err(_) => Resource::Built(built),
        }
    }
}

impl Resource<'_> {
    /// Its resource type (empty when a JSON object has none).
    pub fn resource_type(&self) -> &str {
        match self {
            Resource::Built(b) => b.resource_type(),
            Resource::Text(t) => t.resource_type,
            Resource::Value(m) => m
                .get("resourceType")
                .and_then(Json::as_str)
                .unwrap_or_default(),
        }
    }

    /// Its id (empty when a JSON object has none).
    pub fn id(&self) -> &str {
        match self {
            Resource::Built(b) => b.id(),
            Resource::Text(t) => &t.id,
            Resource::Value(m) => m.get("id").and_then(Json::as_str).unwrap_or_default(),
        }
    }

    /// Its `meta.lastUpdated`.
    pub fn last_updated(&self) -> Option<&str> {
        match self {
            Resource::Built(b) => b.last_updated(),
            Resource::Text(t) => t.last_updated.as_deref(),
            Resource::Value(m) => m.get("meta")?.get("lastUpdated")?.as_str(),
        }
    }

    /// The JSON object.
    pub fn into_map(self) -> Map<String, Json> {
        match self {
            Resource::Built(b) => b.into_map(),
            Resource::Value(m) => m,
            Resource::Text(t) => t.to_map(),
        }
    }

    /// A copy as a JSON object (the resource itself is left as it is).
    pub fn to_map(&self) -> Map<String, Json> {
        match self {
            Resource::Built(b) => match serde_json::to_value(b) {
                Ok(Json::Object(m)) => m,
                _ => Map::new(),
            },
            Resource::Value(m) => m.clone(),
            Resource::Text(t) => t.to_map(),
        }
    }

    /// Applies `_summary` or `_elements` ([`subset`]) when they subset.
    pub fn subset(&mut self, summary: Summary, elements: Option<&[String]>) {
        if !summary.subsets() && elements.is_none() {
            return;
        }
        let mut map = std::mem::replace(self, Resource::Value(Map::new())).into_map();
        subset(&mut map, summary, elements);
        *self = Resource::Value(map);
    }
}

impl<'a> From<Built<'a>> for Resource<'a> {
    fn from(b: Built<'a>) -> Resource<'a> {
        Resource::Built(b)
    }
}

impl Serialize for Resource<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            Resource::Built(b) => b.serialize(s),
            Resource::Value(m) => m.serialize(s),
            Resource::Text(t) => t.json.serialize(s),
        }
    }
}

impl Text<'_> {
    /// The JSON object its text is.
    fn to_map(&self) -> Map<String, Json> {
        serde_json::from_str(self.json.get()).unwrap_or_default()
    }
}
