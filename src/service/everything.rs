//! `Patient/[id]/$everything`: the patient, then every mapped resource in their compartment,
//! type after type (in mapping order), each type in its search order.
//!
//! A page is filled from one compartment search per type it touches. The cursor names the
//! position in the whole sequence: every source of every returned type, numbered in order, so
//! the plain search cursor (source, last key) serves unchanged. The resources the page refers
//! to outside the compartment (practitioners, organizations...) come with it as includes, as
//! the operation's definition asks ("and any resource referenced from those").

use super::links::PageOut;
use super::{Fhir, RequestContext, ServiceError};
use crate::assemble::bundle::SearchSet;
use crate::db::Cost;
use crate::mapping::Mapping;
use crate::mapping::references::links_of;
use crate::plan::{self, PlanError};
use crate::request::compartment::{Compartment, patient_types, unreachable_types};
use crate::request::criterion::Criterion;
use crate::request::cursor::Cursor;
use crate::request::everything::EverythingRequest;
use crate::request::include::Include;
use crate::request::search::SearchRequest;

impl Fhir {
    /// The searchset Bundle of the page of `$everything` its `_cursor` asks for;
    /// [`ServiceError::NotFound`] when the patient does not exist.
    pub async fn everything<'s>(
        &'s self,
        cx: &'s RequestContext,
        req: &EverythingRequest,
    ) -> Result<SearchSet<'s>, ServiceError> {
        let not_found = || ServiceError::NotFound(format!("Patient/{} is not known", req.id));
        let path = format!("Patient/{}/$everything", req.id);
        let link_params = req.link_params();
        let cursor = match &req.cursor {
            Some(token) => Some(self.cursors.decode(token, &path, &link_params)?),
            None => None,
        };
        let session = self.session(cx, Cost::Expensive);
        let mapping = self.mapping();
        // Position of each type's first source in the numbering the cursor uses.
        let mut offsets = Vec::with_capacity(req.types.len());
        let mut n = 0;
        for t in &req.types {
            offsets.push(n);
            n += mapping.sources_of(t).count();
        }
        let (start, mut local) = match &cursor {
            None => (0, None),
            Some(c) => {
                let Some(ti) = offsets.iter().rposition(|&o| o <= c.source) else {
                    return Err(bad_cursor());
                };
                if c.source >= n || !c.sort.is_empty() {
                    return Err(bad_cursor());
                }
                let local = Cursor {
                    source: c.source - offsets[ti],
                    after: c.after.clone(),
                    sort: Vec::new(),
                };
                (ti, Some(local))
            }
        };
        let exists = || async {
            let stmt = plan::exists(mapping, &self.caps, &cx.scope, "Patient", req.id.as_str())?;
            Ok::<bool, ServiceError>(match stmt {
                Some(stmt) => !session.db.fetch(&stmt).await?.is_empty(),
                None => false,
            })
        };
        if cursor.is_none() && !req.types.iter().any(|t| t == "Patient") && !exists().await? {
            return Err(not_found());
        }
        // A next link replayed under a token that may not see the patient is as if the patient
        // did not exist.
        if cursor.is_some() && cx.scope.restricts("Patient") && !exists().await? {
            return Err(not_found());
        }
        let mut notes: Vec<String> = match &req.since_date {
            Some(_) => req
                .types
                .iter()
                .filter(|t| !has_last_updated(mapping, t))
                .map(|t| format!(
                    "{t} has no last-updated time here, so _since does not apply to it: all of its resources are returned"
                ))
                .collect(),
            None => Vec::new(),
        };
        if req.type_param.is_none() {
            // Nothing silent: the types this operation should return but cannot reach.
            notes.extend(unreachable_types(mapping).iter().map(|u| u.advice()));
        }
        let mut resources = Vec::new();
        let mut next = None;
        for (ti, t) in req.types.iter().enumerate().skip(start) {
            let remaining = req.count - resources.len();
            if remaining == 0 {
                next = Some(Cursor {
                    source: offsets[ti],
                    after: None,
                    sort: Vec::new(),
                });
                break;
            }
            let mut search = SearchRequest::new(t, remaining);
            search.compartment = Some(Compartment::patient(mapping, req.id.as_str(), t)?);
            if let Some(since) = &req.since_date
                && has_last_updated(mapping, t)
            {
                search.criteria.push(Criterion::last_updated(since.clone()));
            }
            let page = session.matches(&search, local.take().as_ref()).await?;
            if cursor.is_none() && t == "Patient" && page.resources.is_empty() && !exists().await? {
                return Err(not_found());
            }
            resources.extend(page.resources);
            if let Some(m) = page.next {
                next = Some(Cursor {
                    source: offsets[ti] + m.source,
                    after: m.after,
                    sort: Vec::new(),
                });
                break;
            }
        }
        let included = session
            .include(&referenced_outside(mapping, &req.types), &resources)
            .await?;
        Ok(self.bundle(PageOut {
            path: &path,
            link_params: &link_params,
            cursor: req.cursor.as_deref(),
            next: next.as_ref(),
            resources,
            included,
            total: None,
            ignored: &req.ignored,
            notes,
        }))
    }
}

/// An `_include` for every declared reference from `types` to a type outside the Patient
/// compartment (the compartment's own resources come as matches).
pub fn referenced_outside(mapping: &Mapping, types: &[String]) -> Vec<Include> {
    let compartment = patient_types(mapping);
    let mut out: Vec<Include> = Vec::new();
    for t in types {
        for link in links_of(mapping, t) {
            let target = link.target_type();
            if compartment.iter().any(|c| c == target) {
                continue;
            }
            let include = Include {
                reverse: false,
                iterate: false,
                source_type: t.clone(),
                param: Some(link.code.to_string()),
                target_type: Some(target.to_string()),
                link: String::new(),
            };
            if !out.contains(&include) {
                out.push(include);
            }
        }
    }
    out
}

/// Whether every source of `resource_type` has a last-updated time (so `_since` applies).
fn has_last_updated(mapping: &Mapping, resource_type: &str) -> bool {
    mapping
        .sources_of(resource_type)
        .all(|s| s.last_updated.is_some())
}

fn bad_cursor() -> ServiceError {
    PlanError::InvalidValue("the _cursor does not fit this request".into()).into()
}
