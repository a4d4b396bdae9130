//! A resource's values filled into its source's [`Shape`], laid out when the mapping was
//! loaded: one flag set per node and one value per element, in flat vectors, instead of a
//! tree of nodes found by name (`tree.rs`, which builds the same JSON and is what sources
//! without a shape use).
//!
//! The rules are `tree.rs`'s: a node is written when it holds something written and, unless
//! it is the root, when one of its row-bound values is present or it has none, and no required
//! value under it is absent. A value that is an object is written without its members that are
//! (or become) empty objects, as `tree.rs` writes an object value merged member by member.

use std::borrow::Cow;

use serde::ser::{Serialize, SerializeMap, SerializeSeq, Serializer};
use serde_json::Value as Json;

use super::compact;
use super::tree::Origin;
use crate::mapping::shape::{Frame, NodeId, NodeKind, Placement, Shape};

#[derive(Debug, Clone, Copy, Default)]
struct Flags {
    /// A row-bound value was placed under it.
    slot: bool,
    /// One of them was present.
    present: bool,
    /// A required value under it is absent.
    vetoed: bool,
    /// It is written (set by [`Filled::mark`]).
    kept: bool,
    /// One of its members or items is written (set by [`Filled::mark`]).
    any: bool,
}

impl Flags {
    fn count(&mut self, origin: Origin, present: bool) {
        if origin != Origin::Constant {
            self.slot = true;
            self.present |= present;
        }
    }
}

/// The flags and values of a frame's rows (one row for the body).
#[derive(Debug, Default)]
struct Fill<'a> {
    rows: usize,
    flags: Vec<Flags>,
    values: Vec<Option<Cow<'a, Json>>>,
    /// Values the mapping holds written as compact JSON (a value map's entries), by value.
    texts: Vec<Option<&'a str>>,
}

/// A resource's values in its source's shape.
#[derive(Debug)]
pub struct Filled<'a> {
    shape: &'a Shape,
    body: Fill<'a>,
    /// Per child table, its rows' items.
    children: Vec<Fill<'a>>,
}

impl<'a> Filled<'a> {
    /// Nothing placed yet.
    pub fn new(shape: &'a Shape) -> Filled<'a> {
        let body = Fill {
            rows: 1,
            flags: vec![Flags::default(); shape.body.nodes.len()],
            values: Vec::with_capacity(shape.body.placements.len()),
            texts: Vec::with_capacity(shape.body.placements.len()),
        };
        Filled {
            shape,
            body,
            children: shape.children.iter().map(|_| Fill::default()).collect(),
        }
    }

    /// Places the value of the body's next element (they are placed in order).
    pub fn set(&mut self, value: Option<Cow<'a, Json>>, text: Option<&'a str>, origin: Origin) {
        let n = self.body.values.len();
        if let Some(p) = self.shape.body.placements.get(n) {
            place(&mut self.body.flags, p, value.is_some(), origin);
            self.body.values.push(value);
            self.body.texts.push(text);
        }
    }

    /// Makes room for `rows` items of child `k` (before their values are placed).
    pub fn rows(&mut self, k: usize, rows: usize) {
        let item = &self.shape.children[k].item;
        let fill = &mut self.children[k];
        fill.rows = rows;
        fill.flags = vec![Flags::default(); rows * item.nodes.len()];
        fill.values = Vec::with_capacity(rows * item.placements.len());
        fill.texts = Vec::with_capacity(rows * item.placements.len());
    }

    /// Places the value of element `n` of row `row` of child `k` (rows and their elements are
    /// placed in order).
    pub fn set_in_row(
        &mut self,
        k: usize,
        row: usize,
        n: usize,
        value: Option<Cow<'a, Json>>,
        text: Option<&'a str>,
        origin: Origin,
    ) {
        let item = &self.shape.children[k].item;
        let fill = &mut self.children[k];
        debug_assert_eq!(fill.values.len(), row * item.placements.len() + n);
        let flags = &mut fill.flags[row * item.nodes.len()..];
        place(flags, &item.placements[n], value.is_some(), origin);
        fill.values.push(value);
        fill.texts.push(text);
    }

    /// Decides which nodes are written (the rules of the module).
    pub fn mark(&mut self) {
        let Filled {
            shape,
            body,
            children,
        } = self;
        // Values not placed are absent.
        body.values
            .resize_with(shape.body.placements.len(), || None);
        body.texts.resize(shape.body.placements.len(), None);
        for (child, fill) in shape.children.iter().zip(children.iter_mut()) {
            fill.values
                .resize_with(fill.rows * child.item.placements.len(), || None);
            fill.texts
                .resize(fill.rows * child.item.placements.len(), None);
        }
        for (child, fill) in shape.children.iter().zip(children.iter_mut()) {
            let Some(list) = child.list else {
                continue;
            };
            let (n, p) = (child.item.nodes.len(), child.item.placements.len());
            let mut items = Flags::default();
            for row in 0..fill.rows {
                let flags = &mut fill.flags[row * n..(row + 1) * n];
                let values = &fill.values[row * p..(row + 1) * p];
                mark_frame(&child.item, flags, values, false);
                items.slot |= flags[0].slot;
                items.present |= flags[0].present;
                items.any |= flags[0].kept;
            }
            let f = &mut body.flags[list as usize];
            f.slot |= items.slot;
            f.present |= items.present;
            f.any |= items.any;
        }
        mark_frame(&shape.body, &mut body.flags, &body.values, true);
    }

    /// The written members of the resource, in order (after [`Filled::mark`]).
    pub fn members(&self) -> Members<'_, 'a> {
        let root = Node {
            cx: self.body_cx(),
            node: 0,
        };
        match &self.shape.body.nodes[0].kind {
            NodeKind::Object(ids) => Members::Nodes(root.cx, ids.iter()),
            _ => Members::None,
        }
    }

    fn body_cx(&self) -> Cx<'_, 'a> {
        Cx {
            filled: self,
            frame: &self.shape.body,
            flags: &self.body.flags,
            values: &self.body.values,
            texts: &self.body.texts,
        }
    }

    /// Row `row` of child `k`.
    fn row_cx(&self, k: usize, row: usize) -> Cx<'_, 'a> {
        let item = &self.shape.children[k].item;
        let (n, p) = (item.nodes.len(), item.placements.len());
        let fill = &self.children[k];
        Cx {
            filled: self,
            frame: item,
            flags: &fill.flags[row * n..(row + 1) * n],
            values: &fill.values[row * p..(row + 1) * p],
            texts: &fill.texts[row * p..(row + 1) * p],
        }
    }
}

/// Notes a value at placement `p` on its node (what [`mark_frame`] passes on to the nodes that
/// hold it), and vetoes what a required one's absence leaves out.
fn place(flags: &mut [Flags], p: &Placement, present: bool, origin: Origin) {
    if origin == Origin::Constant {
        return;
    }
    flags[p.leaf as usize].count(origin, present);
    if origin == Origin::RequiredRow && !present {
        flags[p.veto as usize].vetoed = true;
    }
}

/// Sets `kept` for the nodes of one frame, members before what holds them (a node's members
/// and items come after it), passing on to each holder whether values were placed under it,
/// present, and written; a list's items of child rows are marked before.
fn mark_frame(
    frame: &Frame,
    flags: &mut [Flags],
    values: &[Option<Cow<'_, Json>>],
    root_is_resource: bool,
) {
    for id in (0..frame.nodes.len()).rev() {
        let f = flags[id];
        let node = &frame.nodes[id];
        let root = root_is_resource && id == 0;
        let keeps = root || ((f.present || !f.slot) && !f.vetoed);
        let kept = keeps
            && match &node.kind {
                NodeKind::Value(p) => values[*p].as_deref().is_some_and(written),
                NodeKind::Object(_) => root || f.any,
                NodeKind::List { .. } => f.any,
            };
        flags[id].kept = kept;
        if id != 0 {
            let holder = &mut flags[node.parent as usize];
            holder.slot |= f.slot;
            holder.present |= f.present;
            holder.any |= kept;
        }
    }
}

/// Whether a value is written: an object only when a member is.
fn written(v: &Json) -> bool {
    match v {
        Json::Object(m) => m.values().any(written),
        _ => true,
    }
}

/// Whether an object value loses members when written (members that are, or become, empty
/// objects).
fn loses_members(v: &Json) -> bool {
    match v {
        Json::Object(m) => m
            .values()
            .any(|x| x.is_object() && (!written(x) || loses_members(x))),
        _ => false,
    }
}

/// One frame of a filled shape: the body, or a child row's item.
#[derive(Clone, Copy)]
pub struct Cx<'t, 'a> {
    filled: &'t Filled<'a>,
    frame: &'t Frame,
    flags: &'t [Flags],
    values: &'t [Option<Cow<'a, Json>>],
    texts: &'t [Option<&'a str>],
}

/// A node of a filled shape.
#[derive(Clone, Copy)]
pub struct Node<'t, 'a> {
    cx: Cx<'t, 'a>,
    node: NodeId,
}

/// Something written: a node, or a value (or part of one) that is a JSON object's member.
#[derive(Clone, Copy)]
pub enum At<'t, 'a> {
    /// A node of the shape.
    Node(Node<'t, 'a>),
    /// Part of a value.
    Json(&'t Json),
}

static NULL: Json = Json::Null;

impl<'t, 'a> Node<'t, 'a> {
    fn kind(self) -> &'t NodeKind {
        &self.cx.frame.nodes[self.node as usize].kind
    }

    /// What it stands for: itself, or the value it holds.
    fn resolved(self) -> At<'t, 'a> {
        match self.kind() {
            NodeKind::Value(p) => At::Json(self.cx.values[*p].as_deref().unwrap_or(&NULL)),
            _ => At::Node(self),
        }
    }
}

impl<'t, 'a> At<'t, 'a> {
    fn resolved(self) -> At<'t, 'a> {
        match self {
            At::Node(n) => n.resolved(),
            json => json,
        }
    }

    /// Its written members, when it is an object.
    pub fn members(self) -> Members<'t, 'a> {
        match self.resolved() {
            At::Node(n) => match n.kind() {
                NodeKind::Object(ids) => Members::Nodes(n.cx, ids.iter()),
                _ => Members::None,
            },
            At::Json(Json::Object(m)) => Members::Json(m.iter()),
            At::Json(_) => Members::None,
        }
    }

    /// Whether it is an object.
    pub fn is_object(self) -> bool {
        match self.resolved() {
            At::Node(n) => matches!(n.kind(), NodeKind::Object(_)),
            At::Json(v) => v.is_object(),
        }
    }

    /// Its value, when it is a single value (not an object or list).
    pub fn leaf(self) -> Option<&'t Json> {
        match self.resolved() {
            At::Json(v) if !v.is_object() => Some(v),
            _ => None,
        }
    }
}

/// The written members of an object.
pub enum Members<'t, 'a> {
    /// Of a node.
    Nodes(Cx<'t, 'a>, std::slice::Iter<'t, NodeId>),
    /// Of an object value.
    Json(serde_json::map::Iter<'t>),
    /// Of something that is no object.
    None,
}

impl<'t, 'a> Iterator for Members<'t, 'a> {
    type Item = (&'t str, At<'t, 'a>);

    fn next(&mut self) -> Option<Self::Item> {
        match self {
            Members::Nodes(cx, ids) => {
                let cx = *cx;
                ids.by_ref()
                    .find(|&&m| cx.flags[m as usize].kept)
                    .map(|&m| {
                        let name = cx.frame.nodes[m as usize].name.as_str();
                        (name, At::Node(Node { cx, node: m }))
                    })
            }
            Members::Json(it) => it
                .by_ref()
                .find(|(_, v)| written(v))
                .map(|(k, v)| (k.as_str(), At::Json(v))),
            Members::None => None,
        }
    }
}

impl Serialize for At<'_, '_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let n = match self.resolved() {
            // Objects lose their empty members; anything else is written as it is.
            At::Json(v) if !loses_members(v) => return v.serialize(s),
            at @ At::Json(_) => return serialize_members(at.members(), s),
            At::Node(n) => n,
        };
        match n.kind() {
            NodeKind::List { items, children } => {
                let mut seq = s.serialize_seq(None)?;
                for &i in items.iter().filter(|&&i| n.cx.flags[i as usize].kept) {
                    seq.serialize_element(&At::Node(Node { node: i, ..n }))?;
                }
                let filled = n.cx.filled;
                for &k in children {
                    for row in 0..filled.children[k].rows {
                        let cx = filled.row_cx(k, row);
                        if cx.flags[0].kept {
                            seq.serialize_element(&At::Node(Node { cx, node: 0 }))?;
                        }
                    }
                }
                seq.end()
            }
            NodeKind::Object(ids) => serialize_members(Members::Nodes(n.cx, ids.iter()), s),
            NodeKind::Value(_) => unreachable!("resolved above"),
        }
    }
}

impl At<'_, '_> {
    /// Writes it as compact JSON (what serializing it writes).
    pub fn write(self, out: &mut Vec<u8>) {
        match self {
            At::Node(n) => write_node(out, n.cx, n.node),
            At::Json(v) => write_value(out, v),
        }
    }

    /// Writes `name` as the key of this member: as the shape escaped it, for a node.
    pub fn write_key(self, name: &str, out: &mut Vec<u8>) {
        match self {
            At::Node(n) => out.extend_from_slice(n.cx.frame.nodes[n.node as usize].key.as_bytes()),
            At::Json(_) => {
                compact::string(out, name);
                out.push(b':');
            }
        }
    }
}

/// Writes node `id` of frame `cx` (which is written) as compact JSON.
fn write_node(out: &mut Vec<u8>, cx: Cx<'_, '_>, id: NodeId) {
    match &cx.frame.nodes[id as usize].kind {
        NodeKind::Value(p) => match (cx.texts[*p], &cx.values[*p]) {
            // A value map's entry, written when the mapping was loaded (never an object with
            // empty members).
            (Some(text), _) => out.extend_from_slice(text.as_bytes()),
            (None, Some(v)) => write_value(out, v),
            (None, None) => out.extend_from_slice(b"null"),
        },
        NodeKind::Object(ids) => {
            out.push(b'{');
            let mut first = true;
            for &m in ids {
                if cx.flags[m as usize].kept {
                    comma(out, &mut first);
                    out.extend_from_slice(cx.frame.nodes[m as usize].key.as_bytes());
                    write_node(out, cx, m);
                }
            }
            out.push(b'}');
        }
        NodeKind::List { items, children } => {
            out.push(b'[');
            let mut first = true;
            for &i in items {
                if cx.flags[i as usize].kept {
                    comma(out, &mut first);
                    write_node(out, cx, i);
                }
            }
            let filled = cx.filled;
            for &k in children {
                for row in 0..filled.children[k].rows {
                    let item = filled.row_cx(k, row);
                    if item.flags[0].kept {
                        comma(out, &mut first);
                        write_node(out, item, 0);
                    }
                }
            }
            out.push(b']');
        }
    }
}

/// Writes a value (an object without its members that are or become empty objects).
fn write_value(out: &mut Vec<u8>, v: &Json) {
    match v {
        Json::Object(m) if loses_members(v) => {
            out.push(b'{');
            let mut first = true;
            for (k, v) in m.iter().filter(|(_, v)| written(v)) {
                comma(out, &mut first);
                compact::string(out, k);
                out.push(b':');
                write_value(out, v);
            }
            out.push(b'}');
        }
        _ => compact::value(out, v),
    }
}

fn comma(out: &mut Vec<u8>, first: &mut bool) {
    if !*first {
        out.push(b',');
    }
    *first = false;
}

/// Writes `members` (those `skip` does not name) as compact JSON members, a comma before each
/// but the first when `first`; returns whether none was written and `first` was.
pub fn write_members<'t, 'a>(
    out: &mut Vec<u8>,
    members: Members<'t, 'a>,
    mut first: bool,
    skip: impl Fn(&str) -> bool,
) -> bool {
    for (k, at) in members {
        if skip(k) {
            continue;
        }
        comma(out, &mut first);
        at.write_key(k, out);
        at.write(out);
    }
    first
}

fn serialize_members<S: Serializer>(members: Members<'_, '_>, s: S) -> Result<S::Ok, S::Error> {
    let mut map = s.serialize_map(None)?;
    for (k, v) in members {
        map.serialize_entry(k, &v)?;
    }
    map.end()
}
