//! The statements that fetch included resources: by id key (`_include`: the resources the
//! results refer to) or by the value of a reference element (`_revinclude`: the resources that
//! refer to the results). Each reads many resources of one source at once, in id key order,
//! limited so a large fan-out cannot be read whole. Pure.

use super::layout::SourceLayout;
use super::read::{KeyValue, write_source_select, write_value};
use super::search::{Context, PlanError, in_location, leaf_sql, write_equals};
use super::sql::{SqlWriter, Statement};
use crate::dialect::Dialect;
use crate::mapping::{LeafRef, Source};

/// Keys referred to through one reference element.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RefKeys {
    /// The reference element of the referring source.
    pub leaf: LeafRef,
    /// Id keys of the resources referred to (without the target's id prefix).
    pub keys: Vec<String>,
}

fn order_and_limit(w: &mut SqlWriter, source: &Source, limit: usize) {
    w.push(" ORDER BY ");
    write_value(w, &source.alias, &source.id.value);
    w.push(" LIMIT ").param(limit as i64);
}

/// The rows of `source` whose id key is one of `keys`, in key order, `limit` at most.
pub fn rows_by_key(
    source: &Source,
    layout: &SourceLayout,
    keys: &[KeyValue],
    limit: usize,
    dialect: Dialect,
) -> Statement {
    let mut w = SqlWriter::new(dialect);
    write_source_select(&mut w, source, layout);
    w.push(" AND ");
    if keys.is_empty() {
        w.push("1=0");
    } else {
        write_value(&mut w, &source.alias, &source.id.value);
        w.push(" IN (");
        for (i, k) in keys.iter().enumerate() {
            if i > 0 {
                w.push(", ");
            }
            w.param(k.clone());
        }
        w.push(")");
    }
    order_and_limit(&mut w, source, limit);
    w.finish()
}

/// The rows of `cx.source` whose reference elements hold one of the keys of `refs` (OR-ed),
/// in key order, `limit` at most. A reference element in a child table is a semi-join.
pub fn rows_referring(
    cx: &Context,
    layout: &SourceLayout,
    refs: &[RefKeys],
    limit: usize,
) -> Result<Statement, PlanError> {
    let mut w = SqlWriter::new(cx.dialect);
    write_source_select(&mut w, cx.source, layout);
    w.push(" AND (");
    if refs.is_empty() {
        w.push("1=0");
    }
    for (i, r) in refs.iter().enumerate() {
        if i > 0 {
            w.push(" OR ");
        }
        in_location(&mut w, cx, r.leaf.location, |w| {
            let (sql, el) = leaf_sql(cx, r.leaf);
            write_equals(w, &sql, el, &r.keys);
            Ok(())
        })?;
    }
    w.push(")");
    order_and_limit(&mut w, cx.source, limit);
    Ok(w.finish())
}
