//! `_id`: a resource's logical id, which is its source's id prefix followed by the row's key.

use super::escape::unescape;
use super::operand::write_bool;
use crate::mapping::Source;
use crate::mapping::sql::write_value;
use crate::sql::{SqlWriter, Value};

/// Parses an `_id` value.
pub fn parse(raw: &str) -> String {
    unescape(raw)
}

/// `key = ?` for the row of `source` whose logical id is `id`; `1=0` when no row of the source
/// can have it (another prefix, letters for an integer key).
pub fn write_predicate(w: &mut SqlWriter, source: &Source, id: &str) {
    match source.key_of_id(id) {
        Some(key) => {
            let text = matches!(key, Value::Text(_));
            let param = key.to_param(w.dialect());
            write_value(w, &source.alias, &source.id.value);
            w.push(" = ")
                .param_for(source.id.value.column_info(), param.clone());
            // Ids are case-sensitive; MySQL's usual collations are not (trailing blanks aside,
            // as keys are read).
            if text && w.dialect().needs_binary_recheck() {
                w.push(" AND BINARY RTRIM(");
                write_value(w, &source.alias, &source.id.value);
                w.push(") = ").param(param);
            }
        }
        None => write_bool(w, false),
    }
}

/// The keys, as text, of the ids a row of `source` can have (for one `IN` list bound as the
/// key column compares them).
pub fn keys_in<'a>(source: &Source, ids: impl IntoIterator<Item = &'a str>) -> Vec<String> {
    ids.into_iter()
        .filter_map(|id| {
            let rest = id.strip_prefix(source.id.prefix.as_str())?;
            (!rest.is_empty() && source.key_for(rest).is_some()).then(|| rest.to_string())
        })
        .collect()
}
