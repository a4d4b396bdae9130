//! Where a compared value lives: the source row, or a child table reached by a semi-join
//! (`parent IN (SELECT key FROM child WHERE ...)`).

use super::PlanError;
use super::context::Context;
use crate::mapping::sql::{write_relation, write_value};
use crate::mapping::{Location, SqlValue};
use crate::sql::SqlWriter;

/// Writes `body` for the source row, or for the rows of a child table (a semi-join).
pub fn in_location(
    w: &mut SqlWriter,
    cx: &Context,
    location: Location,
    body: impl FnOnce(&mut SqlWriter) -> Result<(), PlanError>,
) -> Result<(), PlanError> {
    match location {
        Location::Row => {
            w.push("(");
            body(w)?;
            w.push(")");
        }
        Location::Child(c) => {
            // `parent IN (SELECT key ...)` rather than a correlated EXISTS: every database
            // runs it as a semi-join from the child's index.
            let child = &cx.source.children[c];
            let key = SqlValue::Column(child.key.clone());
            w.push("(");
            write_value(w, &cx.source.alias, &child.parent_key);
            w.push(" IN (SELECT ");
            write_value(w, &child.alias, &key);
            w.push(" FROM ");
            write_relation(w, &child.relation, &child.alias);
            w.push(" WHERE ");
            write_value(w, &child.alias, &key);
            w.push(" IS NOT NULL");
            if let Some(f) = &child.filter {
                w.push(" AND (").push(f).push(")");
            }
            w.push(" AND (");
            body(w)?;
            w.push(")))");
        }
    }
    Ok(())
}

/// Writes `body` for one repetition of an element (`repetition`: the child table whose rows
/// are the repetitions; `None`: a part of the source row): in one semi-join on that table, so
/// that everything `body` writes holds on the same child row, unless already `within` one.
/// `body` is given where its values are (the `within` of what it writes).
pub fn in_repetition(
    w: &mut SqlWriter,
    cx: &Context,
    within: Option<Location>,
    repetition: Option<Location>,
    body: impl FnOnce(&mut SqlWriter, Option<Location>) -> Result<(), PlanError>,
) -> Result<(), PlanError> {
    let inner = within.or(repetition);
    match (within, repetition) {
        (None, Some(location)) => in_location(w, cx, location, |w| body(w, inner)),
        _ => {
            w.push("(");
            body(w, inner)?;
            w.push(")");
            Ok(())
        }
    }
}

/// Writes `body` where a value at `location` is compared: in its own place (a semi-join for a
/// child table), or as it is when already `within` a semi-join (a composite's repetition).
pub fn at(
    w: &mut SqlWriter,
    cx: &Context,
    within: Option<Location>,
    location: Location,
    body: impl FnOnce(&mut SqlWriter) -> Result<(), PlanError>,
) -> Result<(), PlanError> {
    match within {
        Some(_) => {
            w.push("(");
            body(w)?;
            w.push(")");
            Ok(())
        }
        None => in_location(w, cx, location, body),
    }
}
