//! One page of a Bulk Data export: the resources of one type after a keyset position, read as a
//! search reads them (same planner, keyset paging, child rows batched per page, budget and
//! timeouts), so an export streams any table in pages of constant size.

use super::{Fhir, RequestContext, ServiceError};
use crate::assemble::served::Resource;
use crate::db::Cost;
use crate::mapping::Mapping;
use crate::request::compartment::membership;
use crate::request::criterion::Criterion;
use crate::request::cursor::Cursor;
use crate::request::export::ExportRequest;
use crate::request::search::SearchRequest;

/// One page of exported resources.
pub struct ExportPage<'a> {
    /// The resources, in key order.
    pub resources: Vec<Resource<'a>>,
    /// Where the next page starts (`None`: the type is done).
    pub next: Option<Cursor>,
}

/// Whether every source of `resource_type` has a last-updated time (so `_since` applies).
pub fn tracks_updates(mapping: &Mapping, resource_type: &str) -> bool {
    mapping
        .sources_of(resource_type)
        .all(|s| s.last_updated.is_some())
}

/// The search that reads `resource_type` for `req`, `page_size` resources a page: its
/// `_typeFilter`s (one: its criteria; several: any of them, in the same statement, so each
/// resource is read once), the compartments of `patient`, and `_since` where the type tracks
/// updates.
pub fn export_search(
    mapping: &Mapping,
    req: &ExportRequest,
    resource_type: &str,
    page_size: usize,
) -> SearchRequest {
    let mut search = SearchRequest::new(resource_type, page_size.max(1));
    match req.filters_of(resource_type) {
        [one] => search.criteria = one.clone(),
        many => search.any_of = many.to_vec(),
    }
    if !req.patients.is_empty() {
        // `patient` is accepted at patient level only, whose types are all in the compartment
        // (`patient_types`): membership is always defined.
        search
            .criteria
            .extend(membership(mapping, resource_type, &req.patients));
    }
    if let Some(since) = &req.since_date
        && tracks_updates(mapping, resource_type)
    {
        search.criteria.push(Criterion::last_updated(since.clone()));
    }
    search
}

impl Fhir {
    /// The page of `search` after `after` (the first when `None`). Each page is a request of
    /// its own for the database budget: it takes a slot and gives it back.
    pub async fn export_page<'s>(
        &'s self,
        cx: &'s RequestContext,
        search: &SearchRequest,
        after: Option<&Cursor>,
    ) -> Result<ExportPage<'s>, ServiceError> {
        let session = self.session(cx, Cost::Expensive);
        let page = session.matches(search, after).await?;
        Ok(ExportPage {
            resources: page.resources,
            next: page.next,
        })
    }
}
