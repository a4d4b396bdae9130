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
            w.param_for(source.id.value.column_info(), k.clone());
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
            write_equals(w, &sql, super::search::column_info(el), &r.keys);
            Ok(())
        })?;
    }
    w.push(")");
    order_and_limit(&mut w, cx.source, limit);
    Ok(w.finish())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mapping::references::links_of;

    const MAPPING: &str = r#"
[[resource]]
type = "Encounter"
table = "VISIT"
id = "VISIT_ID"
[resource.elements]
status = { constant = "finished" }
class = { constant = { system = "http://terminology.hl7.org/CodeSystem/v3-ActCode", code = "AMB" } }
subject = { column = "PAT_ID", reference = "Patient" }
[[resource.child]]
path = "participant"
table = "VISIT_STAFF"
key = "VISIT_ID"
[resource.child.elements]
individual = { column = "PROV_ID", reference = "Practitioner" }
[resource.search]
patient = true
practitioner = true

[[resource]]
type = "Patient"
table = "PATIENT"
id = "PAT_ID"

[[resource]]
type = "Practitioner"
table = "PROVIDER"
id = "PROV_ID"
"#;

    #[test]
    fn revinclude_on_a_row_column_or_through_a_child_table() {
        let m = crate::mapping::parse("t.toml", MAPPING, Dialect::Sqlite).unwrap();
        let links = links_of(&m, "Encounter");
        let find = |code: &str| *links.iter().find(|l| l.code == code).unwrap();
        let (patient, practitioner) = (find("patient"), find("practitioner"));
        assert_eq!(patient.target_type(), "Patient");
        assert_eq!(practitioner.target_type(), "Practitioner");
        let source = patient.from;
        let cx = Context {
            source,
            dialect: Dialect::Sqlite,
            tz: m.timezone,
            base_url: "http://h/fhir",
            mapping: &m,
            accents: &crate::search::string::Accents::AsStored,
        };
        let layout = SourceLayout::of(source);
        let stmt = rows_referring(
            &cx,
            &layout,
            &[
                RefKeys {
                    leaf: patient.leaf,
                    keys: vec!["1".into(), "2".into()],
                },
                RefKeys {
                    leaf: practitioner.leaf,
                    keys: vec!["7".into()],
                },
            ],
            11,
        )
        .unwrap();
        let where_ = stmt.sql.split_once(" WHERE ").unwrap().1;
        assert_eq!(
            where_,
            "1=1 AND ((VISIT.\"PAT_ID\" IN (?, ?)) OR (VISIT.\"VISIT_ID\" IN (SELECT VISIT_STAFF.\"VISIT_ID\" FROM VISIT_STAFF VISIT_STAFF WHERE VISIT_STAFF.\"VISIT_ID\" IS NOT NULL AND (VISIT_STAFF.\"PROV_ID\" IN (?))))) ORDER BY VISIT.\"VISIT_ID\" LIMIT ?"
        );
        assert_eq!(stmt.params.len(), 4);

        let by_key = rows_by_key(source, &layout, &[], 5, Dialect::Sqlite);
        assert!(
            by_key
                .sql
                .ends_with("WHERE 1=1 AND 1=0 ORDER BY VISIT.\"VISIT_ID\" LIMIT ?")
        );
    }
}
