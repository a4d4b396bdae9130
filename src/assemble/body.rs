//! A resource's mapped elements, assembled one of two ways that write the same JSON: filled
//! into the source's shape ([`shaped`]), or built node by node
//! ([`tree`]) where the source has no shape.

use serde::{Serialize, Serializer};
use serde_json::{Map, Value as Json};

use super::compact;
use super::shaped::{self, Filled};
use super::tree::{self, Tree, Written};

/// A resource's mapped elements, marked (what is written is decided).
#[derive(Debug)]
pub enum Body<'a> {
    /// Filled into the source's shape.
    Shaped(Filled<'a>),
    /// Built node by node.
    Tree(Tree<'a>),
}

/// A written element of a [`Body`]: serializes as its JSON.
#[derive(Clone, Copy)]
pub enum Part<'t, 'a> {
    /// Of a filled shape.
    Shaped(shaped::At<'t, 'a>),
    /// Of a tree.
    Tree(Written<'t, 'a>),
}

/// The written members of an object of a [`Body`].
pub enum Members<'t, 'a> {
    /// Of a filled shape.
    Shaped(shaped::Members<'t, 'a>),
    /// Of a tree.
    Tree(tree::Members<'t, 'a>),
}

impl<'a> Body<'a> {
    /// The written members of the resource, in order.
    pub fn members(&self) -> Members<'_, 'a> {
        match self {
            Body::Shaped(f) => Members::Shaped(f.members()),
            Body::Tree(t) => Members::Tree(t.members()),
        }
    }

    /// The written member `name`.
    pub fn member(&self, name: &str) -> Option<Part<'_, 'a>> {
        self.members().find(|(k, _)| *k == name).map(|(_, p)| p)
    }

    /// The written members as a JSON object.
    pub fn finish(self) -> Map<String, Json> {
        match self {
            Body::Tree(t) => t.finish(),
            Body::Shaped(f) => f
                .members()
                .filter_map(|(k, v)| Some((k.to_string(), serde_json::to_value(v).ok()?)))
                .collect(),
        }
    }
}

impl<'t, 'a> Part<'t, 'a> {
    /// Its written members, when it is an object.
    pub fn members(self) -> Members<'t, 'a> {
        match self {
            Part::Shaped(at) => Members::Shaped(at.members()),
            Part::Tree(w) => Members::Tree(w.members()),
        }
    }

    /// Whether it is an object.
    pub fn is_object(self) -> bool {
        match self {
            Part::Shaped(at) => at.is_object(),
            Part::Tree(w) => w.is_object(),
        }
    }

    /// Its value, when it is a single value (not an object or list).
    pub fn leaf(self) -> Option<&'t Json> {
        match self {
            Part::Shaped(at) => at.leaf(),
            Part::Tree(w) => w.leaf(),
        }
    }

    /// Writes `name`, the member's name, as an object key with its colon.
    pub fn write_key(self, name: &str, out: &mut Vec<u8>) {
        match self {
            Part::Shaped(at) => at.write_key(name, out),
            Part::Tree(_) => {
                compact::string(out, name);
                out.push(b':');
            }
        }
    }

    /// Writes it as compact JSON (what serializing it writes).
    pub fn write(self, out: &mut Vec<u8>) {
        match self {
            Part::Shaped(at) => at.write(out),
            Part::Tree(w) => {
                // Writing into a Vec does not fail.
                let _ = serde_json::to_writer(&mut *out, &w);
            }
        }
    }
}

impl<'t, 'a> Iterator for Members<'t, 'a> {
    type Item = (&'t str, Part<'t, 'a>);

    fn next(&mut self) -> Option<Self::Item> {
        match self {
            Members::Shaped(m) => m.next().map(|(k, v)| (k, Part::Shaped(v))),
            Members::Tree(m) => m.next().map(|(k, v)| (k, Part::Tree(v))),
        }
    }
}

impl Serialize for Part<'_, '_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            Part::Shaped(at) => at.serialize(s),
            Part::Tree(w) => w.serialize(s),
        }
    }
}
