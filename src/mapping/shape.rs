//! The element tree every resource of a source shares, laid out once when the mapping is
//! loaded: which object holds which member, in which order, and which node each element's
//! value fills. Assembly then fills it per row (flags and values in flat vectors) instead of
//! building a tree of nodes, found by name, for every resource.
//!
//! Not every mapping has such a tree: where one element's value would have to merge with
//! another's (`subject` mapped whole and `subject.display` beside it; a list written whole by a
//! value with items added after it), where a child table gives both an item value and item
//! elements, or where child tables cross an object only child tables make with another child
//! between them (that object's place among its siblings would depend on which children have
//! rows), [`Shape::of`] gives `None` and assembly builds each resource's tree as before.

use serde_json::Value as Json;

use super::model::{Child, ElementMapping, PathSegment, Source};

/// Index of a node in its [`Frame`].
pub type NodeId = u32;

/// A node of a [`Frame`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ShapeNode {
    /// Its member name in the object that holds it (empty for a root and for list items).
    pub name: String,
    /// The name as a JSON object key, with its colon (`"family":`), written as it is.
    pub key: String,
    /// The object or list that holds it (the root: itself).
    pub parent: NodeId,
    /// What it is.
    pub kind: NodeKind,
}

/// What a [`ShapeNode`] is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NodeKind {
    /// An object: its members, in the order they are written.
    Object(Vec<NodeId>),
    /// A list: the items the mapping's own paths index (in index order), then one item per
    /// row of each of these child tables (indexes into [`Shape::children`], in order).
    List {
        /// Items at fixed indexes.
        items: Vec<NodeId>,
        /// Child tables whose rows follow them.
        children: Vec<usize>,
    },
    /// The value of placement `n` of the frame.
    Value(usize),
}

/// Where one element's value goes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Placement {
    /// The value's own node (the nodes holding it follow [`ShapeNode::parent`]).
    pub leaf: NodeId,
    /// The node left out when a required value is absent: the one that holds the value's
    /// member.
    pub veto: NodeId,
}

/// A tree of nodes (root: node 0) and the placements of the values that fill it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Frame {
    /// Its nodes; a node's members and items come after it.
    pub nodes: Vec<ShapeNode>,
    /// One per element, in the order of the elements.
    pub placements: Vec<Placement>,
}

/// A child table's part of a [`Shape`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChildShape {
    /// The list of the source's frame the rows are items of (`None`: the child places
    /// nothing).
    pub list: Option<NodeId>,
    /// One row's item: the child's elements, in order, or (for an item value) a frame whose
    /// root is the value.
    pub item: Frame,
}

/// The element tree of a source's resources.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Shape {
    /// The source's own elements.
    pub body: Frame,
    /// Its child tables, parallel to `source.children`.
    pub children: Vec<ChildShape>,
}

/// A node while the frame is laid out.
#[derive(Debug)]
enum Draft {
    Fresh,
    Object(Vec<NodeId>),
    List(Vec<(usize, NodeId)>, Vec<usize>),
    Value(usize),
}

/// Why no shape: values that must merge, or a member order that depends on the rows.
#[derive(Debug)]
struct Unshaped;

#[derive(Debug, Default)]
struct Builder {
    names: Vec<String>,
    parents: Vec<NodeId>,
    drafts: Vec<Draft>,
    /// For nodes first made by a child table's path: the last child whose path passes
    /// through them.
    by_child: Vec<Option<usize>>,
    placements: Vec<Placement>,
}

impl Builder {
    fn new() -> Builder {
        let mut b = Builder::default();
        b.add(String::new(), 0, None);
        b
    }

    fn add(&mut self, name: String, parent: NodeId, child: Option<usize>) -> NodeId {
        self.names.push(name);
        self.parents.push(parent);
        self.drafts.push(Draft::Fresh);
        self.by_child.push(child);
        (self.drafts.len() - 1) as NodeId
    }

    /// Notes that child `child`'s path passes through `node`. A node made by a child's path
    /// is written where the first child with rows makes it; that is where the shape puts it
    /// only if the children passing through it are consecutive.
    fn pass(&mut self, node: NodeId, child: Option<usize>) -> Result<(), Unshaped> {
        let (Some(c), Some(last)) = (child, &mut self.by_child[node as usize]) else {
            return Ok(());
        };
        if *last != c && *last + 1 != c {
            return Err(Unshaped);
        }
        *last = c;
        Ok(())
    }

    /// The member `name` of object `node`, made if missing.
    fn member(
        &mut self,
        node: NodeId,
        name: &str,
        child: Option<usize>,
    ) -> Result<NodeId, Unshaped> {
        let existing = match &self.drafts[node as usize] {
            Draft::Fresh => {
                self.drafts[node as usize] = Draft::Object(Vec::new());
                None
            }
            Draft::Object(members) => members
                .iter()
                .copied()
                .find(|&m| self.names[m as usize] == name),
            // Through a value (which would merge) or a list (a path without its index).
            _ => return Err(Unshaped),
        };
        if let Some(m) = existing {
            self.pass(m, child)?;
            return Ok(m);
        }
        let m = self.add(name.to_string(), node, child);
        if let Draft::Object(members) = &mut self.drafts[node as usize] {
            members.push(m);
        }
        Ok(m)
    }

    /// List `node` (made a list if fresh).
    fn list(&mut self, node: NodeId) -> Result<(), Unshaped> {
        match &self.drafts[node as usize] {
            Draft::Fresh => {
                self.drafts[node as usize] = Draft::List(Vec::new(), Vec::new());
                Ok(())
            }
            Draft::List(..) => Ok(()),
            _ => Err(Unshaped),
        }
    }

    /// Item `index` of list `node`, made if missing.
    fn item(
        &mut self,
        node: NodeId,
        index: usize,
        child: Option<usize>,
    ) -> Result<NodeId, Unshaped> {
        self.list(node)?;
        let Draft::List(items, _) = &self.drafts[node as usize] else {
            unreachable!("made a list above")
        };
        match items.binary_search_by_key(&index, |(k, _)| *k) {
            Ok(i) => {
                let id = items[i].1;
                self.pass(id, child)?;
                Ok(id)
            }
            Err(i) => {
                let id = self.add(String::new(), node, child);
                if let Draft::List(items, _) = &mut self.drafts[node as usize] {
                    items.insert(i, (index, id));
                }
                Ok(id)
            }
        }
    }

    /// Walks `path` from `from`, making what is missing. Returns the node before the last
    /// segment (what a required value vetoes) and the last node.
    fn walk(
        &mut self,
        from: NodeId,
        path: &[PathSegment],
        child: Option<usize>,
    ) -> Result<(NodeId, NodeId), Unshaped> {
        let mut node = from;
        let mut holder = from;
        for seg in path {
            holder = node;
            let m = self.member(node, &seg.name, child)?;
            node = if seg.repeats {
                self.item(m, seg.index, child)?
            } else {
                m
            };
        }
        Ok((holder, node))
    }

    /// Places an element's value at `path` under `from`.
    fn place(&mut self, from: NodeId, path: &[PathSegment]) -> Result<(), Unshaped> {
        let (veto, node) = self.walk(from, path, None)?;
        if !matches!(self.drafts[node as usize], Draft::Fresh) {
            return Err(Unshaped);
        }
        self.drafts[node as usize] = Draft::Value(self.placements.len());
        self.placements.push(Placement { veto, leaf: node });
        Ok(())
    }

    /// Lays out `elements` (paths relative to the root).
    fn elements(&mut self, elements: &[ElementMapping]) -> Result<(), Unshaped> {
        elements.iter().try_for_each(|el| self.place(0, &el.path))
    }

    /// The list child `k`'s rows are items of.
    fn base(&mut self, k: usize, child: &Child) -> Result<NodeId, Unshaped> {
        let (last, upper) = child.path.split_last().ok_or(Unshaped)?;
        if !last.repeats {
            return Err(Unshaped);
        }
        let (_, end) = self.walk(0, upper, Some(k))?;
        let list = self.member(end, &last.name, Some(k))?;
        self.list(list)?;
        if let Draft::List(_, children) = &mut self.drafts[list as usize] {
            children.push(k);
        }
        Ok(list)
    }

    fn finish(self) -> Frame {
        let nodes = self
            .names
            .into_iter()
            .zip(self.drafts)
            .zip(self.parents)
            .map(|((name, draft), parent)| ShapeNode {
                key: format!("{}:", Json::String(name.clone())),
                name,
                parent,
                kind: match draft {
                    // A node nothing fills (a path's object whose values are all elsewhere
                    // cannot happen; an empty root can).
                    Draft::Fresh => NodeKind::Object(Vec::new()),
                    Draft::Object(m) => NodeKind::Object(m),
                    Draft::List(items, children) => NodeKind::List {
                        items: items.into_iter().map(|(_, id)| id).collect(),
                        children,
                    },
                    Draft::Value(p) => NodeKind::Value(p),
                },
            })
            .collect();
        Frame {
            nodes,
            placements: self.placements,
        }
    }
}

/// One row's item of `child`.
fn item_frame(child: &Child) -> Result<Frame, Unshaped> {
    let mut b = Builder::new();
    match (&child.value, child.elements.is_empty()) {
        (Some(_), true) => {
            b.drafts[0] = Draft::Value(0);
            b.placements.push(Placement { veto: 0, leaf: 0 });
        }
        (None, _) => b.elements(&child.elements)?,
        // An item value that item elements would merge with.
        (Some(_), false) => return Err(Unshaped),
    }
    Ok(b.finish())
}

impl Shape {
    /// The shape of `source`'s resources, or `None` where values merge (see the module).
    pub fn of(source: &Source) -> Option<Shape> {
        Shape::lay_out(&source.elements, &source.children).ok()
    }

    fn lay_out(elements: &[ElementMapping], children: &[Child]) -> Result<Shape, Unshaped> {
        let mut b = Builder::new();
        b.elements(elements)?;
        let mut shapes = Vec::with_capacity(children.len());
        for (k, child) in children.iter().enumerate() {
            // A child that places nothing makes no nodes.
            let list = if child.value.is_none() && child.elements.is_empty() {
                None
            } else {
                Some(b.base(k, child)?)
            };
            shapes.push(ChildShape {
                list,
                item: item_frame(child)?,
            });
        }
        Ok(Shape {
            body: b.finish(),
            children: shapes,
        })
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::mapping::ElementValue;

    /// `name[0].given[1]` as a path (an index marks a repeating element).
    pub(crate) fn path(s: &str) -> Vec<PathSegment> {
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

    fn el(p: &str) -> ElementMapping {
        ElementMapping {
            path: path(p),
            written: p.into(),
            line: 1,
            value: ElementValue::Constant(serde_json::json!(1)),
            required: false,
            fhir_type: String::new(),
            code_system: None,
        }
    }

    /// The nodes from the root to `leaf`.
    fn chain(f: &Frame, leaf: NodeId) -> Vec<NodeId> {
        let mut out = vec![leaf];
        while let Some(&n) = out.last().filter(|&&n| n != 0) {
            out.push(f.nodes[n as usize].parent);
        }
        out.reverse();
        out
    }

    fn names(f: &Frame, ids: &[NodeId]) -> Vec<String> {
        ids.iter()
            .map(|&i| f.nodes[i as usize].name.clone())
            .collect()
    }

    #[test]
    fn members_follow_the_order_of_first_mention_and_items_their_indexes() {
        let els = [
            el("name[0].given[1]"),
            el("gender"),
            el("name[0].given[0]"),
            el("name[0].family"),
        ];
        let s = Shape::lay_out(&els, &[]).expect("a shape");
        let NodeKind::Object(root) = &s.body.nodes[0].kind else {
            panic!("root object")
        };
        assert_eq!(names(&s.body, root), ["name", "gender"]);
        // name[0].given[1]: root, name, name[0], given, given[1].
        let p = &s.body.placements[0];
        let chain = chain(&s.body, p.leaf);
        assert_eq!(chain.len(), 5);
        let NodeKind::List { items, .. } = &s.body.nodes[chain[3] as usize].kind else {
            panic!("given is a list")
        };
        // given[0] (placed third) comes first.
        assert_eq!(items[0], s.body.placements[2].leaf);
        assert_eq!(items[1], *chain.last().unwrap());
        // A required given[1] vetoes name[0], the object holding `given`.
        assert_eq!(p.veto, chain[2]);
    }

    #[test]
    fn values_that_would_merge_have_no_shape() {
        assert!(Shape::lay_out(&[el("subject"), el("subject.display")], &[]).is_err());
        assert!(Shape::lay_out(&[el("subject.display"), el("subject")], &[]).is_err());
        assert!(Shape::lay_out(&[el("code"), el("code.coding[0].code")], &[]).is_err());
        assert!(Shape::lay_out(&[el("subject.reference"), el("subject.display")], &[]).is_ok());
    }
}
