//! The read interaction.

use serde_json::{Map, Value as Json};

use super::rows::build_resources;
use crate::assemble::resource::{row_id, version};
use crate::db::{Database, DbError, QueryCounter};
use crate::mapping::Mapping;
use crate::plan::SourceLayout;
use crate::plan::read::{key_for_id, read_by_id};
use crate::request::ReadRequest;

/// A resource that was read, with what conditional reads compare against.
#[derive(Debug, Clone)]
pub struct ReadResult {
    /// The resource.
    pub resource: Map<String, Json>,
    /// Its version (`meta.versionId`), when the mapping declares one.
    pub version: Option<String>,
    /// Its `meta.lastUpdated`, when the mapping declares it.
    pub last_updated: Option<String>,
}

/// Reads one resource; `Ok(None)` when no (served) row has that id.
pub async fn read(
    mapping: &Mapping,
    db: &Database,
    req: &ReadRequest,
    counter: &QueryCounter,
) -> Result<Option<ReadResult>, DbError> {
    let Some((source, rest)) = mapping.source_for_id(&req.resource_type, req.id.as_str()) else {
        return Ok(None);
    };
    let Some(key) = key_for_id(source, rest) else {
        return Ok(None);
    };
    let layout = SourceLayout::of(source);
    let stmt = read_by_id(source, &layout, key, db.dialect());
    let rows = db.fetch(&stmt, counter).await?;
    // Ids are case-sensitive; a case-insensitive collation may return a row that differs.
    let Some(row) = rows
        .into_iter()
        .find(|r| row_id(source, &layout, r).as_deref() == Some(req.id.as_str()))
    else {
        return Ok(None);
    };
    let version = version(&layout, &row);
    let mut built = build_resources(
        mapping,
        db,
        source,
        &layout,
        std::slice::from_ref(&row),
        counter,
    )
    .await?;
    let Some(Some(resource)) = built.pop() else {
        return Ok(None);
    };
    let last_updated = resource
        .get("meta")
        .and_then(|m| m.get("lastUpdated"))
        .and_then(Json::as_str)
        .map(str::to_string);
    Ok(Some(ReadResult {
        resource,
        version,
        last_updated,
    }))
}
