//! Builds a resource's JSON from values placed at element paths.
//!
//! Rules: a value-less element is left out; a list keeps its items in index order with gaps
//! closed, and items placed in a list that a value wrote whole (a value map's
//! CodeableConcept, a constant) follow that value's items; a complex element whose row-bound values are all absent is left out, even when the
//! mapping gives it constants (no `valueQuantity` holding only a unit system), while an
//! element built only from constants is kept; and an element with a *required* part that is
//! absent is left out whatever else it holds.
//!
//! A finished tree becomes JSON two ways that give the same bytes: [`Tree::finish`] builds a
//! `serde_json` object (for XML, subsetting, includes), and [`Tree::mark`] followed by
//! serializing [`Tree::members`] writes it straight to the output without one.

use std::borrow::Cow;

use serde::ser::{Serialize, SerializeMap, SerializeSeq, Serializer};
use serde_json::{Map, Value as Json};

use crate::mapping::PathSegment;

#[derive(Debug, Default)]
struct Node<'a> {
    kind: Kind<'a>,
    /// Row-bound values placed in this subtree.
    slots: usize,
    /// Row-bound values that were present.
    present: usize,
    /// A required part is absent: leave this element out.
    vetoed: bool,
    /// Set by [`Tree::mark`]: the element is written.
    kept: bool,
}

#[derive(Debug, Default)]
enum Kind<'a> {
    #[default]
    Empty,
    Object(Fields<'a>),
    /// Items by index, in index order.
    Array(Vec<(usize, Node<'a>)>),
    /// A value: converted from a row, or a constant of the mapping.
    Leaf(Cow<'a, Json>),
}

/// The members of an object in insertion order. Resources' objects have a few to a few dozen
/// members, so a linear search by name beats hashing every name; names are borrowed from the
/// mapping (copied only for members of a value that is itself an object).
#[derive(Debug, Default)]
struct Fields<'a>(Vec<(Cow<'a, str>, Node<'a>)>);

impl<'a> Fields<'a> {
    fn get(&self, name: &str) -> Option<&Node<'a>> {
        self.0.iter().find(|(k, _)| k == name).map(|(_, n)| n)
    }

    /// The member `name`, added empty if missing.
    fn entry(&mut self, name: Cow<'a, str>) -> &mut Node<'a> {
        let i = match self.0.iter().position(|(k, _)| *k == name) {
            Some(i) => i,
            None => {
                self.0.push((name, Node::default()));
                self.0.len() - 1
            }
        };
        &mut self.0[i].1
    }
}

/// The item at `index` of a list, added empty if missing.
fn item<'n, 'a>(items: &'n mut Vec<(usize, Node<'a>)>, index: usize) -> &'n mut Node<'a> {
    let i = match items.binary_search_by_key(&index, |(k, _)| *k) {
        Ok(i) => i,
        Err(i) => {
            items.insert(i, (index, Node::default()));
            i
        }
    };
    &mut items[i].1
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

/// A JSON object under construction; member names borrowed from the mapping (`'a`).
#[derive(Debug, Default)]
pub struct Tree<'a> {
    root: Node<'a>,
}

impl<'a> Tree<'a> {
    /// An empty object.
    pub fn new() -> Tree<'a> {
        Tree::default()
    }

    /// Places `value` at `path` (absent values still count as row-bound slots).
    pub fn set(&mut self, path: &'a [PathSegment], value: Option<Cow<'a, Json>>, origin: Origin) {
        self.set_under(&[], 0, path, value, origin);
    }

    /// Places `value` at `base` + `path`, the last segment of `base` taken at `index` (an item
    /// of a list: see [`Tree::next_index`]).
    pub fn set_under(
        &mut self,
        base: &'a [PathSegment],
        index: usize,
        path: &'a [PathSegment],
        value: Option<Cow<'a, Json>>,
        origin: Origin,
    ) {
        let n = base.len() + path.len();
        let step = |i: usize| {
            if i < base.len() {
                let s = &base[i];
                let index = if i + 1 == base.len() { index } else { s.index };
                (s.name.as_str(), s.repeats, index)
            } else {
                let s = &path[i - base.len()];
                (s.name.as_str(), s.repeats, s.index)
            }
        };
        let present = value.is_some();
        let mut node = &mut self.root;
        for i in 0..n {
            if i + 1 == n && origin == Origin::RequiredRow && !present {
                node.vetoed = true;
            }
            node.count(origin, present);
            let (name, repeats, index) = step(i);
            if !matches!(node.kind, Kind::Object(_)) {
                node.kind = Kind::Object(Fields::default());
            }
            let Kind::Object(map) = &mut node.kind else {
                unreachable!()
            };
            let child = map.entry(Cow::Borrowed(name));
            node = if repeats {
                child.count(origin, present);
                explode_list(child);
                if !matches!(child.kind, Kind::Array(_)) {
                    child.kind = Kind::Array(Vec::new());
                }
                let Kind::Array(items) = &mut child.kind else {
                    unreachable!()
                };
                item(items, index)
            } else {
                child
            };
        }
        node.count(origin, present);
        place(node, value, origin);
    }

    /// The next free index of the list at `path` (0 when it does not exist yet); the index of
    /// the last segment is not looked at.
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
                // A list written as one value (from a value map or a constant).
                (Kind::Leaf(v), _) => return next_index_in(v, seg, &path[i + 1..]),
                (Kind::Array(items), true) if last => {
                    return items.last().map_or(0, |(k, _)| k + 1);
                }
                (Kind::Array(items), true) => match items.iter().find(|(k, _)| *k == seg.index) {
                    Some((_, n)) => node = n,
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

    /// Decides which elements are written (the rules above), for [`Tree::members`] and
    /// [`Tree::member`].
    pub fn mark(&mut self) {
        mark(&mut self.root, true);
    }

    /// The written members of the object, in order (after [`Tree::mark`]).
    pub fn members(&self) -> Members<'_, 'a> {
        match &self.root.kind {
            Kind::Object(f) if self.root.kept => Members(f.0.iter()),
            _ => Members([].iter()),
        }
    }

    /// The written member `name` (after [`Tree::mark`]).
    pub fn member(&self, name: &str) -> Option<Written<'_, 'a>> {
        self.members().find(|(k, _)| *k == name).map(|(_, w)| w)
    }
}

impl Node<'_> {
    fn count(&mut self, origin: Origin, present: bool) {
        if origin != Origin::Constant {
            self.slots += 1;
            if present {
                self.present += 1;
            }
        }
    }
}

/// A written element of a marked [`Tree`]: serializes as its JSON.
#[derive(Clone, Copy)]
pub struct Written<'t, 'a>(&'t Node<'a>);

impl<'t, 'a> Written<'t, 'a> {
    /// Its written members, when it is an object.
    pub fn members(self) -> Members<'t, 'a> {
        match &self.0.kind {
            Kind::Object(f) => Members(f.0.iter()),
            _ => Members([].iter()),
        }
    }

    /// Whether it is an object.
    pub fn is_object(self) -> bool {
        matches!(self.0.kind, Kind::Object(_))
    }

    /// Its value, when it is a single value (not an object or list).
    pub fn leaf(self) -> Option<&'t Json> {
        match &self.0.kind {
            Kind::Leaf(v) => Some(v.as_ref()),
            _ => None,
        }
    }
}

/// The written members of an object.
pub struct Members<'t, 'a>(std::slice::Iter<'t, (Cow<'a, str>, Node<'a>)>);

impl<'t, 'a> Iterator for Members<'t, 'a> {
    type Item = (&'t str, Written<'t, 'a>);

    fn next(&mut self) -> Option<Self::Item> {
        self.0
            .by_ref()
            .find(|(_, n)| n.kept)
            .map(|(k, n)| (k.as_ref(), Written(n)))
    }
}

impl Serialize for Written<'_, '_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match &self.0.kind {
            Kind::Leaf(v) => v.serialize(s),
            Kind::Object(_) => {
                let mut map = s.serialize_map(None)?;
                for (k, v) in self.members() {
                    map.serialize_entry(k, &v)?;
                }
                map.end()
            }
            Kind::Array(items) => {
                let mut seq = s.serialize_seq(None)?;
                for (_, n) in items.iter().filter(|(_, n)| n.kept) {
                    seq.serialize_element(&Written(n))?;
                }
                seq.end()
            }
            // Never kept.
            Kind::Empty => s.serialize_unit(),
        }
    }
}

/// A list written as one value (a JSON array from a value map or a constant) turned into
/// items, so that items placed after it follow its own instead of replacing them.
fn explode_list(node: &mut Node<'_>) {
    let Kind::Leaf(v) = &node.kind else {
        return;
    };
    if !v.is_array() {
        return;
    }
    let Kind::Leaf(v) = std::mem::take(&mut node.kind) else {
        unreachable!()
    };
    // Row-bound values count their slots; a constant's do not (see `place`).
    let origin = if node.slots > 0 {
        Origin::Row
    } else {
        Origin::Constant
    };
    let values: Vec<Cow<'_, Json>> = match v {
        Cow::Owned(Json::Array(a)) => a.into_iter().map(Cow::Owned).collect(),
        Cow::Borrowed(Json::Array(a)) => a.iter().map(Cow::Borrowed).collect(),
        _ => unreachable!(),
    };
    let mut items = Vec::with_capacity(values.len());
    for (i, v) in values.into_iter().enumerate() {
        let mut item = Node::default();
        if origin != Origin::Constant {
            item.slots += 1;
            item.present += 1;
        }
        place(&mut item, Some(v), origin);
        items.push((i, item));
    }
    node.kind = Kind::Array(items);
}

/// [`Tree::next_index`] inside a value written whole: `seg` is the segment that reached it,
/// `rest` the path left after it.
fn next_index_in(v: &Json, seg: &PathSegment, rest: &[PathSegment]) -> usize {
    let (mut v, mut seg, mut rest) = (v, seg, rest);
    loop {
        if seg.repeats {
            let Json::Array(items) = v else {
                return 0;
            };
            if rest.is_empty() {
                return items.len();
            }
            match items.get(seg.index) {
                Some(item) => v = item,
                None => return 0,
            }
        } else if rest.is_empty() {
            return 0;
        }
        let Some((next, tail)) = rest.split_first() else {
            return 0;
        };
        let Some(member) = v.get(next.name.as_str()) else {
            return 0;
        };
        (v, seg, rest) = (member, next, tail);
    }
}

/// Puts a value at `node`; objects are merged key by key so that, e.g., a reference and its
/// `display` mapped separately end up in one object.
fn place<'a>(node: &mut Node<'a>, value: Option<Cow<'a, Json>>, origin: Origin) {
    let members: Vec<(Cow<'a, str>, Cow<'a, Json>)> = match value {
        None => return,
        Some(Cow::Owned(Json::Object(obj))) => obj
            .into_iter()
            .map(|(k, v)| (Cow::Owned(k), Cow::Owned(v)))
            .collect(),
        Some(Cow::Borrowed(Json::Object(obj))) => obj
            .iter()
            .map(|(k, v)| (Cow::Borrowed(k.as_str()), Cow::Borrowed(v)))
            .collect(),
        Some(v) => {
            node.kind = Kind::Leaf(v);
            return;
        }
    };
    if !matches!(node.kind, Kind::Object(_)) {
        node.kind = Kind::Object(Fields::default());
    }
    let Kind::Object(map) = &mut node.kind else {
        unreachable!()
    };
    for (k, v) in members {
        let child = map.entry(k);
        if origin != Origin::Constant {
            child.slots += 1;
            child.present += 1;
        }
        place(child, Some(v), origin);
    }
}

fn keeps(node: &Node, root: bool) -> bool {
    root || ((node.present > 0 || node.slots == 0) && !node.vetoed)
}

fn finish(node: Node, root: bool) -> Option<Json> {
    if !keeps(&node, root) {
        return None;
    }
    match node.kind {
        Kind::Empty => None,
        Kind::Leaf(v) => Some(v.into_owned()),
        Kind::Object(map) => {
            let out: Map<String, Json> = map
                .0
                .into_iter()
                .filter_map(|(k, n)| finish(n, false).map(|v| (k.into_owned(), v)))
                .collect();
            (root || !out.is_empty()).then_some(Json::Object(out))
        }
        Kind::Array(items) => {
            let out: Vec<Json> = items
                .into_iter()
                .filter_map(|(_, n)| finish(n, false))
                .collect();
            (!out.is_empty()).then_some(Json::Array(out))
        }
    }
}

/// [`finish`]'s decisions, recorded in `kept` instead of building the value.
fn mark(node: &mut Node, root: bool) -> bool {
    let kept = keeps(node, root)
        && match &mut node.kind {
            Kind::Empty => false,
            Kind::Leaf(_) => true,
            Kind::Object(map) => {
                let mut any = false;
                for (_, n) in &mut map.0 {
                    any |= mark(n, false);
                }
                root || any
            }
            Kind::Array(items) => {
                let mut any = false;
                for (_, n) in items {
                    any |= mark(n, false);
                }
                any
            }
        };
    node.kept = kept;
    kept
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    use crate::mapping::shape::tests::path as p;

    /// The finished object, checking that the marked tree serializes to the same JSON.
    fn finished(mut t: Tree) -> Json {
        t.mark();
        let mut written = serde_json::Map::new();
        for (k, v) in t.members() {
            written.insert(k.to_string(), serde_json::to_value(v).unwrap());
        }
        let built = Json::Object(t.finish());
        // Compared as text: maps compare equal whatever their order.
        assert_eq!(
            serde_json::to_string(&written).unwrap(),
            serde_json::to_string(&built).unwrap()
        );
        built
    }

    #[test]
    fn gaps_in_lists_are_closed() {
        let (g0, g1, f) = (
            p("name[0].given[0]"),
            p("name[0].given[1]"),
            p("name[0].family"),
        );
        let mut t = Tree::new();
        t.set(&g0, None, Origin::Row);
        t.set(&g1, Some(Cow::Owned(json!("Q"))), Origin::Row);
        t.set(&f, Some(Cow::Owned(json!("Doe"))), Origin::Row);
        assert_eq!(
            finished(t),
            json!({"name": [{"given": ["Q"], "family": "Doe"}]})
        );
    }

    #[test]
    fn list_items_are_written_in_index_order() {
        let (b, a) = (p("given[3]"), p("given[1]"));
        let mut t = Tree::new();
        t.set(&b, Some(Cow::Owned(json!("B"))), Origin::Row);
        t.set(&a, Some(Cow::Owned(json!("A"))), Origin::Row);
        assert_eq!(finished(t), json!({"given": ["A", "B"]}));
    }

    #[test]
    fn constants_alone_do_not_keep_an_element_whose_data_is_absent() {
        let (v, s, st, c) = (
            p("valueQuantity.value"),
            p("valueQuantity.system"),
            p("status"),
            p("category[0].coding[0].code"),
        );
        let mut t = Tree::new();
        t.set(&v, None, Origin::Row);
        t.set(
            &s,
            Some(Cow::Owned(json!("http://unitsofmeasure.org"))),
            Origin::Constant,
        );
        t.set(&st, Some(Cow::Owned(json!("final"))), Origin::Constant);
        t.set(&c, Some(Cow::Owned(json!("laboratory"))), Origin::Constant);
        assert_eq!(
            finished(t),
            json!({"status": "final", "category": [{"coding": [{"code": "laboratory"}]}]})
        );
    }

    #[test]
    fn an_absent_required_part_removes_its_element() {
        let (v, u, s) = (
            p("valueQuantity.value"),
            p("valueQuantity.unit"),
            p("valueString"),
        );
        let mut t = Tree::new();
        t.set(&v, None, Origin::RequiredRow);
        t.set(&u, Some(Cow::Owned(json!("mg/dL"))), Origin::Row);
        t.set(&s, Some(Cow::Owned(json!("HEMOLYZED"))), Origin::Row);
        assert_eq!(finished(t), json!({"valueString": "HEMOLYZED"}));
    }

    #[test]
    fn nothing_present_is_an_empty_object() {
        let v = p("valueQuantity.value");
        let mut t = Tree::new();
        t.set(&v, None, Origin::Row);
        assert_eq!(finished(t), json!({}));
        assert_eq!(finished(Tree::new()), json!({}));
    }

    #[test]
    fn items_added_under_a_written_list_follow_its_items() {
        // A CodeableConcept from a value map, then a coding from a child table's row.
        let (code, base, leaf) = (p("code"), p("code.coding[0]"), p("code"));
        let mut t = Tree::new();
        t.set(
            &code,
            Some(Cow::Owned(json!({"coding": [{"code": "A"}], "text": "a"}))),
            Origin::Row,
        );
        let next = t.next_index(&base);
        assert_eq!(next, 1);
        t.set_under(
            &base,
            next,
            &leaf,
            Some(Cow::Owned(json!("B"))),
            Origin::Row,
        );
        assert_eq!(
            finished(t),
            json!({"code": {"coding": [{"code": "A"}, {"code": "B"}], "text": "a"}})
        );
    }

    #[test]
    fn next_indexes_are_found_inside_lists_written_whole() {
        let (ext, deep) = (p("ext"), p("ext[1].coding[0]"));
        let mut t = Tree::new();
        t.set(
            &ext,
            Some(Cow::Owned(json!([{"coding": [1]}, {"coding": [1, 2]}]))),
            Origin::Constant,
        );
        assert_eq!(t.next_index(&deep), 2);
        assert_eq!(t.next_index(&p("ext[0]")), 2);
        assert_eq!(t.next_index(&p("ext[5].coding[0]")), 0);
        t.set_under(&deep, 2, &[], Some(Cow::Owned(json!(3))), Origin::Row);
        assert_eq!(
            finished(t),
            json!({"ext": [{"coding": [1]}, {"coding": [1, 2, 3]}]})
        );
    }

    #[test]
    fn objects_merge_and_lists_append() {
        let (subject, display, base, value) = (
            p("subject"),
            p("subject.display"),
            p("telecom[0]"),
            p("value"),
        );
        let mut t = Tree::new();
        t.set(
            &subject,
            Some(Cow::Owned(json!({"reference": "Patient/1"}))),
            Origin::Row,
        );
        t.set(&display, Some(Cow::Owned(json!("Doe"))), Origin::Row);
        assert_eq!(t.next_index(&base), 0);
        t.set_under(
            &base,
            0,
            &value,
            Some(Cow::Owned(json!("555"))),
            Origin::Row,
        );
        let next = t.next_index(&base);
        assert_eq!(next, 1);
        t.set_under(
            &base,
            next,
            &value,
            Some(Cow::Owned(json!("556"))),
            Origin::Row,
        );
        assert_eq!(
            finished(t),
            json!({"subject": {"reference": "Patient/1", "display": "Doe"},
                   "telecom": [{"value": "555"}, {"value": "556"}]})
        );
    }
}
