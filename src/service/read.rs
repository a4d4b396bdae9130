//! The read interaction.

use super::rows::build_resources;
use super::{Fhir, RequestContext, ServiceError};
use crate::assemble::resource::{row_id, version};
use crate::assemble::served::Resource;
use crate::db::Cost;
use crate::plan;
use crate::request::ReadRequest;

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
        }) = planned
        else {
            return Err(not_found());
        };
        let rows = session.db.fetch(&statement).await?;
        // Ids are case-sensitive; a case-insensitive collation may return a row that differs.
        let Some(row) = rows
            .into_iter()
            .find(|r| row_id(source, &layout, r).as_deref() == Some(id))
        else {
            return Err(not_found());
        };
        let version = version(&layout, &row);
        let mut built =
            build_resources(&session, source, &layout, std::slice::from_ref(&row)).await?;
        let Some(Some(built)) = built.pop() else {
            return Err(not_found());
        };
        let mut resource = Resource::Built(built);
        let last_updated = resource.last_updated().map(str::to_string);
        resource.subset(req.summary, req.elements.as_deref());
        Ok(ReadResult {
            resource,
            version,
            last_updated,
        })
    }
}
