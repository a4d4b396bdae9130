//! The search interaction (also in a compartment): a complete page — the matches, the
//! resources `_include`/`_revinclude` add, `_summary`/`_elements` applied, the links.

use super::links::PageOut;
use super::{Fhir, RequestContext, ServiceError};
use crate::assemble::bundle::SearchSet;
use crate::db::Cost;
use crate::request::search::SearchRequest;

impl Fhir {
    /// The searchset Bundle of the page of `req` its `_cursor` asks for (the first page
    /// without one).
    pub async fn search<'s>(
        &'s self,
        cx: &'s RequestContext,
        req: &SearchRequest,
    ) -> Result<SearchSet<'s>, ServiceError> {
        self.search_as(cx, req, false).await
    }

    /// [`Fhir::search`], for a response in compact JSON (`compact_json`): matches served whole
    /// (no `_summary`, `_elements` or `_include` to look into them) are each written as JSON
    /// as soon as they are assembled.
    pub async fn search_as<'s>(
        &'s self,
        cx: &'s RequestContext,
        req: &SearchRequest,
        compact_json: bool,
    ) -> Result<SearchSet<'s>, ServiceError> {
        let path = req.path();
        let link_params = req.link_params();
        let cursor = match &req.cursor {
            Some(token) => Some(self.cursors.decode(token, &path, &link_params)?),
            None => None,
        };
        let mut session = self.session(cx, Cost::Expensive);
        session.compact_json = compact_json
            && req.includes.is_empty()
            && !req.summary.subsets()
            && req.elements.is_none();
        let page = session.matches(req, cursor.as_ref()).await?;
        let included = session.include(&req.includes, &page.resources).await?;
        let mut resources = page.resources;
        for r in &mut resources {
            r.subset(req.summary, req.elements.as_deref());
        }
        Ok(self.bundle(PageOut {
            path: &path,
            link_params: &link_params,
            cursor: req.cursor.as_deref(),
            next: page.next.as_ref(),
            resources,
            included,
            total: page.total,
            ignored: &req.ignored,
            notes: Vec::new(),
        }))
    }
}
