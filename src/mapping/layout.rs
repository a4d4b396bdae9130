//! Which columns a source's query selects, and where each mapped value lands in a result row.
//!
//! Every distinct column or expression is selected once, however many elements use it.

use super::{Child, ElementMapping, ElementValue, Source, SqlValue};

/// The select list of a source and the positions of its values.
#[derive(Debug, Clone, PartialEq)]
pub struct SourceLayout {
    /// Distinct selected values, in select-list order.
    pub columns: Vec<SqlValue>,
    /// Position of the id key.
    pub id: usize,
    /// Position of the last-modified time.
    pub last_updated: Option<usize>,
    /// Position of the version.
    pub version: Option<usize>,
    /// Position of each element's value (`None` for constants), parallel to `source.elements`.
    pub elements: Vec<Option<usize>>,
    /// Position of each child's parent key, parallel to `source.children`.
    pub parent_keys: Vec<usize>,
}

/// The select list of a child table and the positions of its values.
#[derive(Debug, Clone, PartialEq)]
pub struct ChildLayout {
    /// Distinct selected values.
    pub columns: Vec<SqlValue>,
    /// Position of the key referring to the parent.
    pub key: usize,
    /// Position of each item element's value, parallel to `child.elements`.
    pub elements: Vec<Option<usize>>,
    /// Position of the item value for primitive items.
    pub value: Option<usize>,
}

fn position(columns: &mut Vec<SqlValue>, v: &SqlValue) -> usize {
    match columns.iter().position(|c| c == v) {
        Some(i) => i,
        None => {
            columns.push(v.clone());
            columns.len() - 1
        }
    }
}

fn element_position(columns: &mut Vec<SqlValue>, value: &ElementValue) -> Option<usize> {
    match value {
        ElementValue::Constant(_) => None,
        ElementValue::Sql { value, .. } => Some(position(columns, value)),
    }
}

fn element_positions(
    columns: &mut Vec<SqlValue>,
    elements: &[ElementMapping],
) -> Vec<Option<usize>> {
    elements
        .iter()
        .map(|e| element_position(columns, &e.value))
        .collect()
}

impl SourceLayout {
    /// The layout of `source`.
    pub fn of(source: &Source) -> SourceLayout {
        let mut columns = Vec::new();
        let id = position(&mut columns, &source.id.value);
        let last_updated = source
            .last_updated
            .as_ref()
            .map(|v| position(&mut columns, v));
        let version = source.version.as_ref().map(|v| position(&mut columns, v));
        let parent_keys = source
            .children
            .iter()
            .map(|c| position(&mut columns, &c.parent_key))
            .collect();
        let elements = element_positions(&mut columns, &source.elements);
        SourceLayout {
            columns,
            id,
            last_updated,
            version,
            elements,
            parent_keys,
        }
    }
}

impl ChildLayout {
    /// The layout of `child`.
    pub fn of(child: &Child) -> ChildLayout {
        let mut columns = Vec::new();
        let key = position(&mut columns, &SqlValue::Column(child.key.clone()));
        let elements = element_positions(&mut columns, &child.elements);
        let value = child
            .value
            .as_ref()
            .and_then(|v| element_position(&mut columns, &v.value));
        ChildLayout {
            columns,
            key,
            elements,
            value,
        }
    }
}
