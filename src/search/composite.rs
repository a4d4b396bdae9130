//! Composite search (<http://hl7.org/fhir/R4/search.html#composite>): `part$part...`, one
//! part per component, each read with its component's own type. The planner matches all the
//! parts within one repetition of the parameter's base element (the resource, one
//! `component`, or one row of a child table).

use super::escape::split;
use super::{SearchValue, ValueContext, parse_value};
use crate::mapping::CompositeComponent;

/// Parses a composite value of parameter `code` with `components`.
pub fn parse(
    cx: ValueContext,
    code: &str,
    components: &[CompositeComponent],
    raw: &str,
) -> Result<Vec<SearchValue>, String> {
    let parts = split(raw, '$');
    if parts.len() != components.len() || parts.iter().any(|p| p.is_empty()) {
        let codes: Vec<&str> = components.iter().map(|k| k.code.as_str()).collect();
        return Err(format!(
            "{code} takes {} values separated by $ ({}), not '{raw}'",
            components.len(),
            codes.join("$")
        ));
    }
    components
        .iter()
        .zip(parts)
        .map(|(c, part)| {
            let label = format!("{code} ({})", c.code);
            parse_value(cx, c.param_type, &label, None, &[], part)
        })
        .collect()
}
