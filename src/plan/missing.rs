//! `:missing`: whether a resource has a value for a parameter, in any of its targets. Blank
//! text counts as no value, as it does in the resources.

use super::PlanError;
use super::context::Context;
use super::location::{at, in_repetition};
use super::parts::write_guard;
use crate::mapping::{Location, SearchTarget, TokenPart};
use crate::search::operand::{write_bool, write_not_blank};
use crate::sql::SqlWriter;

/// Whether any of `targets` has a value (`within`: the repetition of a composite being
/// written, whose semi-join is open already).
pub fn write_present(
    w: &mut SqlWriter,
    cx: &Context,
    targets: &[SearchTarget],
    within: Option<Location>,
) -> Result<(), PlanError> {
    w.push("(");
    for (i, t) in targets.iter().enumerate() {
        if i > 0 {
            w.push(" OR ");
        }
        let leaf = match t {
            SearchTarget::Id => None,
            SearchTarget::LastUpdated => {
                w.push("1=1");
                continue;
            }
            SearchTarget::Token { code: part, .. } | SearchTarget::Uri(part) => match part {
                TokenPart::Leaf(l) | TokenPart::Mapped(l, _) => Some(*l),
                // A truth is true or false, never absent.
                TokenPart::Const(_) | TokenPart::Truth(_) => None,
                TokenPart::Absent => {
                    w.push("1=0");
                    continue;
                }
            },
            SearchTarget::String(l)
            | SearchTarget::Reference(l)
            | SearchTarget::Number(l)
            | SearchTarget::Date { start: l, .. }
            | SearchTarget::Quantity { value: l, .. } => Some(*l),
            SearchTarget::Sql(condition) => {
                // Present where the declared "no value" condition does not hold (NULL: not
                // known to be missing, so present).
                let missing = super::sql_param::missing_condition(condition)?;
                w.push("NOT COALESCE((").push(missing).push("), 1=0)");
                continue;
            }
            SearchTarget::Guarded(g) => {
                // A guarded value is present where the guard holds, in the same repetition.
                in_repetition(w, cx, within, g.within, |w, inner| {
                    write_guard(w, cx, g, inner)?;
                    w.push(" AND ");
                    write_present(w, cx, &g.targets, inner)
                })?;
                continue;
            }
            SearchTarget::Composite(ct) => {
                // Every component has a value in the same repetition.
                in_repetition(w, cx, within, ct.within, |w, inner| {
                    for (j, targets) in ct.targets.iter().enumerate() {
                        if j > 0 {
                            w.push(" AND ");
                        }
                        write_present(w, cx, targets, inner)?;
                    }
                    Ok(())
                })?;
                continue;
            }
        };
        match leaf {
            None => write_bool(w, true),
            Some(l) => at(w, cx, within, l.location, |w| {
                let op = cx.leaf(l).0;
                write_not_blank(w, &op);
                op.write_not_none(w);
                Ok(())
            })?,
        }
    }
    w.push(")");
    Ok(())
}
