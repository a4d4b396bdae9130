//! The parts of targets (system, code, display, unit...) resolved for one source, and the
//! guards of `.where(field='value')` repetitions.

use super::PlanError;
use super::context::Context;
use super::location::at;
use crate::mapping::{GuardedTarget, Location, MapField, TokenPart};
use crate::search::operand::{Part, write_part};
use crate::sql::SqlWriter;

/// The part of a token, uri or quantity target, resolved for `cx.source`.
pub fn part<'a>(cx: &Context<'a>, p: &'a TokenPart) -> Part<'a> {
    match p {
        TokenPart::Absent => Part::Absent,
        TokenPart::Truth(leaves) => Part::Truth(
            leaves
                .iter()
                .map(|(l, flag)| (cx.leaf(*l).0, *flag))
                .collect(),
        ),
        TokenPart::Const(c) => Part::Const(c),
        TokenPart::Leaf(l) => {
            let (op, el) = cx.leaf(*l);
            if el.fhir_type == "boolean" {
                Part::Flag(op)
            } else {
                Part::Sql(op)
            }
        }
        TokenPart::Mapped(l, field) => {
            let (operand, el) = cx.leaf(*l);
            match (el.value_map(), el.system_prefix(), field) {
                (Some(map), _, _) => Part::Mapped {
                    operand,
                    map,
                    field: *field,
                },
                (None, Some(prefix), MapField::System | MapField::Code) => Part::Prefixed {
                    operand,
                    prefix,
                    field: *field,
                },
                // The mapping compiler maps only value-mapped or prefixed elements this way.
                _ => Part::Absent,
            }
        }
    }
}

/// The location of the leaf a token part reads.
pub fn part_location(part: &TokenPart) -> Option<Location> {
    match part {
        TokenPart::Leaf(l) | TokenPart::Mapped(l, _) => Some(l.location),
        // The mapping compiler keeps a truth's values in one place.
        TokenPart::Truth(leaves) => leaves.first().map(|(l, _)| l.location),
        TokenPart::Const(_) | TokenPart::Absent => None,
    }
}

/// The guard of a repetition holds (`system = 'phone'`), written where its part lives (or as it
/// is, `within` the repetition's semi-join).
pub fn write_guard(
    w: &mut SqlWriter,
    cx: &Context,
    g: &GuardedTarget,
    within: Option<Location>,
) -> Result<(), PlanError> {
    let location = part_location(&g.guard).unwrap_or(Location::Row);
    at(w, cx, within, location, |w| {
        write_part(w, &part(cx, &g.guard), Some(&g.equals));
        Ok(())
    })
}
