//! Several `_id` or reference values as one `IN (...)` list per target: what includes,
//! compartments and `$everything` ask for, hundreds at once.

use super::PlanError;
use super::context::Context;
use super::location::in_location;
use crate::mapping::{LeafRef, SearchDecl, SearchTarget};
use crate::search::operand::write_equals_exact;
use crate::search::{SearchValue, id};
use crate::sql::SqlWriter;

/// Several `_id` or reference values as one `IN (...)` list per target, instead of an `OR` of
/// equalities (includes and `$everything` ask for hundreds at once). `Ok(false)`, writing
/// nothing, when the parameter has other kinds of targets or values.
pub fn write_key_lists(
    w: &mut SqlWriter,
    cx: &Context,
    d: &SearchDecl,
    values: &[SearchValue],
) -> Result<bool, PlanError> {
    let mut lists: Vec<(Option<LeafRef>, Vec<String>)> = Vec::new();
    for t in &d.targets {
        match t {
            SearchTarget::Id => {
                let mut ids = Vec::new();
                for v in values {
                    let SearchValue::Id(id) = v else {
                        return Ok(false);
                    };
                    ids.push(id.as_str());
                }
                lists.push((None, id::keys_in(cx.source, ids)));
            }
            SearchTarget::Reference(l) => {
                let Some((resource_type, prefix)) = cx.source.leaf(*l).reference_target() else {
                    return Ok(false);
                };
                let mut keys = Vec::new();
                for v in values {
                    let SearchValue::Reference(r) = v else {
                        return Ok(false);
                    };
                    keys.extend(r.key_in(resource_type, prefix).map(str::to_string));
                }
                lists.push((Some(*l), keys));
            }
            _ => return Ok(false),
        }
    }
    w.push("(");
    let mut any = false;
    for (leaf, keys) in lists {
        if keys.is_empty() {
            continue;
        }
        if any {
            w.push(" OR ");
        }
        any = true;
        match leaf {
            None => write_equals_exact(w, &cx.row_value(&cx.source.id.value), &keys),
            Some(l) => in_location(w, cx, l.location, |w| {
                write_equals_exact(w, &cx.leaf(l).0, &keys);
                Ok(())
            })?,
        }
    }
    if !any {
        w.push("1=0");
    }
    w.push(")");
    Ok(true)
}
