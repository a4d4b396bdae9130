//! The read interaction.

use super::rows::build_resources_given;
use super::{Fhir, RequestContext, ServiceError};
use crate::assemble::resource::{row_id, version};
use crate::assemble::served::Resource;
use crate::db::Cost;
use crate::mapping::{ChildLayout, Source, SourceLayout};
use crate::plan::{self, ReadChildren};
use crate::request::ReadRequest;
use crate::sql::{Row, Value};

/// A resource that was read, with what conditional reads compare against.
#[derive(Debug)]
pub struct ReadResult<'a> {
    /// The resource (`_summary` and `_elements` applied).
    pub resource: Resource<'a>,
    /// Its version (`meta.versionId`), when the mapping declares one.
    pub version: Option<String>,
    /// Its `meta.lastUpdated`, when the mapping declares it.
    pub last_updated: Option<String>,
}

impl Fhir {
    /// Reads one resource; [`ServiceError::NotFound`] when no (served) row has that id.
    pub async fn read<'s>(
        &'s self,
        cx: &'s RequestContext,
        req: &ReadRequest,
    ) -> Result<ReadResult<'s>, ServiceError> {
        let not_found =
            || ServiceError::NotFound(format!("{}/{} is not known", req.resource_type, req.id));
        let session = self.session(cx, Cost::Cheap);
        let id = req.id.as_str();
        let planned = plan::read(&self.mapping, &self.caps, &cx.scope, &req.resource_type, id)?;
        let Some(plan::ReadPlan {
            source,
            layout,
            statement,
            children,
        }) = planned
        else {
            return Err(not_found());
        };
        let rows = session.db.fetch(&statement).await?;
        let (rows, read_children) = match &children {
            Some(c) => split_rows(rows, &layout, c, source),
            None => (rows, Vec::new()),
        };
        let several = rows.len() > 1;
        // Ids are case-sensitive; a case-insensitive collation may return a row that differs.
        let Some(row) = rows
            .into_iter()
            .find(|r| row_id(source, &layout, r).as_deref() == Some(id))
        else {
            return Err(not_found());
        };
        // The child rows read with it are the row's when they were read for its parent key,
        // and for it alone; otherwise they are read apart, as before.
        let given = match &children {
            Some(c) if !several => read_children
                .into_iter()
                .enumerate()
                .map(|(k, rows)| {
                    rows.filter(|_| {
                        row.get(layout.parent_keys[k])
                            .and_then(Value::as_key)
                            .as_ref()
                            == Some(&c.key)
                    })
                })
                .collect(),
            _ => Vec::new(),
        };
        let version = version(&layout, &row);
        let mut built =
            build_resources_given(&session, source, &layout, std::slice::from_ref(&row), given)
                .await?;
        let Some(Some(mut resource)) = built.pop() else {
            return Err(not_found());
        };
        let last_updated = resource.last_updated().map(str::to_string);
        resource.subset(req.summary, req.elements.as_deref());
        Ok(ReadResult {
            resource,
            version,
            last_updated,
        })
    }
}

/// The rows of a read's statement ([`plan::read`] with child tables) split into the resource's
/// rows (part 0, cut to the layout's columns) and, per child of `source`, the rows read for it
/// (cut to the child's layout; the all-NULL row of a child without rows dropped), in the
/// statement's order; `None` for a child read apart.
pub(super) fn split_rows(
    rows: Vec<Row>,
    layout: &SourceLayout,
    plan: &ReadChildren,
    source: &Source,
) -> (Vec<Row>, Vec<Option<Vec<Row>>>) {
    let child_layouts: Vec<ChildLayout> = source.children.iter().map(ChildLayout::of).collect();
    let mut children: Vec<Option<Vec<Row>>> =
        plan.starts.iter().map(|s| s.map(|_| Vec::new())).collect();
    let mut parents = Vec::new();
    for mut row in rows {
        let part = row.get(plan.part).and_then(Value::as_u64);
        match part.map(|p| p as usize) {
            Some(0) => {
                row.truncate(layout.columns.len());
                parents.push(row);
            }
            Some(p) => {
                let k = p - 1;
                let (Some(Some(start)), Some(cl), Some(Some(out))) = (
                    plan.starts.get(k),
                    child_layouts.get(k),
                    children.get_mut(k),
                ) else {
                    continue;
                };
                let end = start + cl.columns.len();
                if end > row.len() || matches!(row[start + cl.key], Value::Null) {
                    continue;
                }
                out.push(row.drain(*start..end).collect());
            }
            None => {}
        }
    }
    (parents, children)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan::Scope;
    use crate::sql::{Caps, Dialect};

    const MAPPING: &str = r#"
[[resource]]
type = "Patient"
table = "PATIENT"
id = "PAT_ID"
[resource.elements]
"name[0].family" = "LAST_NM"

[[resource.child]]
path = "telecom"
table = "PAT_PHONE"
key = "PAT_ID"
order_by = "SEQ_NO"
[resource.child.elements]
value = "PHONE_NO"
rank = "SEQ_NO"

[[resource.child]]
path = "identifier"
table = "MRN"
key = "MRN_NO"
parent_key = "MRN_NO"
[resource.child.elements]
value = "MRN_NO"

[[resource.child]]
path = "address"
table = "PAT_ADDR"
key = "PAT_ID"
[resource.child.elements]
"line[0]" = "LINE1"
"#;

    fn t(s: &str) -> Value {
        Value::Text(s.into())
    }

    #[test]
    fn rows_of_a_read_split_into_the_row_and_each_child_s_rows_in_order() {
        let m = crate::mapping::parse("test.toml", MAPPING, Dialect::Sqlite).unwrap();
        let p = plan::read(
            &m,
            &Caps::of(Dialect::Sqlite),
            Scope::none(),
            "Patient",
            "7",
        )
        .unwrap()
        .unwrap();
        let c = p.children.as_ref().unwrap();
        // Row: PAT_ID, MRN_NO, LAST_NM | part | phone: PAT_ID, PHONE_NO, SEQ_NO | addr: PAT_ID, LINE1.
        assert_eq!(c.part, 3);
        assert_eq!(c.starts, vec![Some(4), None, Some(7)]);
        let row = vec![t("7"), t("M-1"), t("Smith")];
        let with = |part: i64, phone: [Value; 3], addr: [Value; 2]| {
            let mut r = row.clone();
            r.push(Value::Int(part));
            r.extend(phone);
            r.extend(addr);
            r
        };
        let none3 = || [Value::Null, Value::Null, Value::Null];
        let none2 = || [Value::Null, Value::Null];
        let rows = vec![
            with(0, none3(), none2()),
            with(1, [t("7"), t("555-1"), Value::Int(1)], none2()),
            with(1, [t("7"), t("555-2"), Value::Int(2)], none2()),
            // A child without rows: its all-NULL row.
            with(3, none3(), none2()),
        ];
        let (parents, children) = split_rows(rows, &p.layout, c, p.source);
        assert_eq!(parents, vec![row.clone()]);
        assert_eq!(
            children,
            vec![
                Some(vec![
                    vec![t("7"), t("555-1"), Value::Int(1)],
                    vec![t("7"), t("555-2"), Value::Int(2)],
                ]),
                None,
                Some(vec![]),
            ]
        );
        // Rows of a child come back as read; several parent rows are all kept.
        let rows = vec![
            with(3, none3(), [t("7"), t("Main St")]),
            with(0, none3(), none2()),
            with(0, none3(), none2()),
            with(1, none3(), none2()),
        ];
        let (parents, children) = split_rows(rows, &p.layout, c, p.source);
        assert_eq!(parents.len(), 2);
        assert_eq!(
            children,
            vec![Some(vec![]), None, Some(vec![vec![t("7"), t("Main St")]])]
        );
    }
}
