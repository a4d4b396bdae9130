//! Builds a resource's JSON from values placed at element paths.
//!
//! Rules: a value-less element is left out; a list keeps its items in index order with gaps
//! closed; a complex element whose row-bound values are all absent is left out, even when the
//! mapping gives it constants (no `valueQuantity` holding only a unit system), while an
//! element built only from constants is kept; and an element with a *required* part that is
//! absent is left out whatever else it holds.

use std::collections::BTreeMap;

use serde_json::{Map, Value as Json};

use crate::mapping::PathSegment;

#[derive(Debug, Default)]
struct Node {
    kind: Kind,
    /// Row-bound values placed in this subtree.
    slots: usize,
    /// Row-bound values that were present.
    present: usize,
    /// A required part is absent: leave this element out.
    vetoed: bool,
}

#[derive(Debug, Default)]
enum Kind {
    #[default]
    Empty,
    Object(Fields),
    Array(BTreeMap<usize, Node>),
    Leaf(Json),
}

/// The members of an object in insertion order. Resources' objects have a few to a few dozen
/// members, so a linear search by name beats hashing every name (and a name is copied only
/// when it is new).
#[derive(Debug, Default)]
struct Fields(Vec<(String, Node)>);

impl Fields {
    fn get(&self, name: &str) -> Option<&Node> {
        self.0.iter().find(|(k, _)| k == name).map(|(_, n)| n)
    }

    /// The member `name`, added empty if missing.
    fn entry(&mut self, name: &str) -> &mut Node {
        let i = match self.0.iter().position(|(k, _)| k == name) {
            Some(i) => i,
            None => {
                self.0.push((name.to_string(), Node::default()));
                self.0.len() - 1
            }
        };
        &mut self.0[i].1
    }
}

/// Where a value comes from, for the clean-up rules.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Origin {
    /// A constant of the mapping.
    Constant,
    /// A database value (maybe absent).
    Row,
    /// A database value without which the containing element must be left out.
    RequiredRow,
}

/// A JSON object under construction.
#[derive(Debug, Default)]
pub struct Tree {
    root: Node,
}

impl Tree {
    /// An empty object.
    pub fn new() -> Tree {
        Tree::default()
    }

    /// Places `value` at `path` (absent values still count as row-bound slots).
    pub fn set(&mut self, path: &[PathSegment], value: Option<Json>, origin: Origin) {
        self.set_under(&[], path, value, origin);
    }

    /// Places `value` at `base` + `path`.
    pub fn set_under(
        &mut self,
        base: &[PathSegment],
        path: &[PathSegment],
        value: Option<Json>,
        origin: Origin,
    ) {
        let segments: Vec<&PathSegment> = base.iter().chain(path).collect();
        insert(&mut self.root, &segments, value, origin);
    }

    /// The next free index of the list at `path` (0 when it does not exist yet).
    pub fn next_index(&self, path: &[PathSegment]) -> usize {
        let mut node = &self.root;
        for (i, seg) in path.iter().enumerate() {
            let Kind::Object(map) = &node.kind else {
                return 0;
            };
            let Some(child) = map.get(&seg.name) else {
                return 0;
            };
            let last = i + 1 == path.len();
            match (&child.kind, seg.repeats) {
                (Kind::Array(items), true) if last => {
                    return items.keys().next_back().map_or(0, |k| k + 1);
                }
                (Kind::Array(items), true) => match items.get(&seg.index) {
                    Some(n) => node = n,
                    None => return 0,
                },
                (_, false) => node = child,
                _ => return 0,
            }
        }
        0
    }

    /// The finished JSON object (an empty object if nothing was present).
    pub fn finish(self) -> Map<String, Json> {
        match finish(self.root, true) {
            Some(Json::Object(m)) => m,
            _ => Map::new(),
        }
    }
}

fn insert(node: &mut Node, path: &[&PathSegment], value: Option<Json>, origin: Origin) {
    if path.len() == 1 && origin == Origin::RequiredRow && value.is_none() {
        node.vetoed = true;
    }
    if origin != Origin::Constant {
        node.slots += 1;
        if value.is_some() {
            node.present += 1;
        }
    }
    let Some((seg, rest)) = path.split_first() else {
        place(node, value, origin);
        return;
    };
    if !matches!(node.kind, Kind::Object(_)) {
        node.kind = Kind::Object(Fields::default());
    }
    let Kind::Object(map) = &mut node.kind else {
        unreachable!()
    };
    let child = map.entry(&seg.name);
    if seg.repeats {
        if origin != Origin::Constant {
            child.slots += 1;
            if value.is_some() {
                child.present += 1;
            }
        }
        if !matches!(child.kind, Kind::Array(_)) {
            child.kind = Kind::Array(BTreeMap::new());
        }
        let Kind::Array(items) = &mut child.kind else {
            unreachable!()
        };
        insert(items.entry(seg.index).or_default(), rest, value, origin);
    } else {
        insert(child, rest, value, origin);
    }
}

/// Puts a value at `node`; objects are merged key by key so that, e.g., a reference and its
/// `display` mapped separately end up in one object.
fn place(node: &mut Node, value: Option<Json>, origin: Origin) {
    match value {
        None => {}
        Some(Json::Object(obj)) => {
            if !matches!(node.kind, Kind::Object(_)) {
                node.kind = Kind::Object(Fields::default());
            }
            let Kind::Object(map) = &mut node.kind else {
                unreachable!()
            };
            for (k, v) in obj {
                let child = map.entry(&k);
                if origin != Origin::Constant {
                    child.slots += 1;
                    child.present += 1;
                }
                place(child, Some(v), origin);
            }
        }
        Some(v) => node.kind = Kind::Leaf(v),
    }
}

fn finish(node: Node, root: bool) -> Option<Json> {
    let keep = root || ((node.present > 0 || node.slots == 0) && !node.vetoed);
    if !keep {
        return None;
    }
    match node.kind {
        Kind::Empty => None,
        Kind::Leaf(v) => Some(v),
        Kind::Object(map) => {
            let out: Map<String, Json> = map
                .0
                .into_iter()
                .filter_map(|(k, n)| finish(n, false).map(|v| (k, v)))
                .collect();
            (root || !out.is_empty()).then_some(Json::Object(out))
        }
        Kind::Array(items) => {
            let out: Vec<Json> = items
                .into_values()
                .filter_map(|n| finish(n, false))
                .collect();
            (!out.is_empty()).then_some(Json::Array(out))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn p(s: &str) -> Vec<PathSegment> {
        // "name[0].given[1]" with repeats marked by an explicit index.
        s.split('.')
            .map(|seg| match seg.split_once('[') {
                Some((n, i)) => PathSegment {
                    name: n.into(),
                    repeats: true,
                    index: i.trim_end_matches(']').parse().unwrap(),
                },
                None => PathSegment {
                    name: seg.into(),
                    repeats: false,
                    index: 0,
                },
            })
            .collect()
    }

    #[test]
    fn gaps_in_lists_are_closed() {
        let mut t = Tree::new();
        t.set(&p("name[0].given[0]"), None, Origin::Row);
        t.set(&p("name[0].given[1]"), Some(json!("Q")), Origin::Row);
        t.set(&p("name[0].family"), Some(json!("Doe")), Origin::Row);
        assert_eq!(
            Json::Object(t.finish()),
            json!({"name": [{"given": ["Q"], "family": "Doe"}]})
        );
    }

    #[test]
    fn constants_alone_do_not_keep_an_element_whose_data_is_absent() {
        let mut t = Tree::new();
        t.set(&p("valueQuantity.value"), None, Origin::Row);
        t.set(
            &p("valueQuantity.system"),
            Some(json!("http://unitsofmeasure.org")),
            Origin::Constant,
        );
        t.set(&p("status"), Some(json!("final")), Origin::Constant);
        t.set(
            &p("category[0].coding[0].code"),
            Some(json!("laboratory")),
            Origin::Constant,
        );
        assert_eq!(
            Json::Object(t.finish()),
            json!({"status": "final", "category": [{"coding": [{"code": "laboratory"}]}]})
        );
    }

    #[test]
    fn an_absent_required_part_removes_its_element() {
        let mut t = Tree::new();
        t.set(&p("valueQuantity.value"), None, Origin::RequiredRow);
        t.set(&p("valueQuantity.unit"), Some(json!("mg/dL")), Origin::Row);
        t.set(&p("valueString"), Some(json!("HEMOLYZED")), Origin::Row);
        assert_eq!(
            Json::Object(t.finish()),
            json!({"valueString": "HEMOLYZED"})
        );
    }

    #[test]
    fn objects_merge_and_lists_append() {
        let mut t = Tree::new();
        t.set(
            &p("subject"),
            Some(json!({"reference": "Patient/1"})),
            Origin::Row,
        );
        t.set(&p("subject.display"), Some(json!("Doe")), Origin::Row);
        let base = p("telecom[0]");
        assert_eq!(t.next_index(&p("telecom[0]")), 0);
        t.set_under(&base, &p("value"), Some(json!("555")), Origin::Row);
        let mut next = p("telecom[0]");
        next[0].index = t.next_index(&p("telecom[0]"));
        assert_eq!(next[0].index, 1);
        t.set_under(&next, &p("value"), Some(json!("556")), Origin::Row);
        assert_eq!(
            Json::Object(t.finish()),
            json!({"subject": {"reference": "Patient/1", "display": "Doe"},
                   "telecom": [{"value": "555"}, {"value": "556"}]})
        );
    }
}
