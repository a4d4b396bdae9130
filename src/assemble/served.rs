//! A resource on its way to the client: as assembled from its rows (serialized straight to
//! JSON), or as a `serde_json` object once something needed the tree (`_summary`,
//! `_elements`, XML).

use serde::{Serialize, Serializer};
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
}

impl Resource<'_> {
    /// Its resource type (empty when a JSON object has none).
    pub fn resource_type(&self) -> &str {
        match self {
            Resource::Built(b) => b.resource_type(),
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
            Resource::Value(m) => m.get("id").and_then(Json::as_str).unwrap_or_default(),
        }
    }

    /// Its `meta.lastUpdated`.
    pub fn last_updated(&self) -> Option<&str> {
        match self {
            Resource::Built(b) => b.last_updated(),
            Resource::Value(m) => m.get("meta")?.get("lastUpdated")?.as_str(),
        }
    }

    /// The JSON object.
    pub fn into_map(self) -> Map<String, Json> {
        match self {
            Resource::Built(b) => b.into_map(),
            Resource::Value(m) => m,
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
        }
    }

    /// Applies `_summary` or `_elements` ([`subset`]) when they subset.
    pub fn subset(&mut self, summary: Summary, elements: Option<&[String]>) {
        if !summary.subsets() && elements.is_none() {
            return;
        }
        let mut map = match std::mem::replace(self, Resource::Value(Map::new())) {
            Resource::Built(b) => b.into_map(),
            Resource::Value(m) => m,
        };
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
        }
    }
}
