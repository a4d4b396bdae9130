//! `Patient/[id]/$everything`: the patient, then every mapped resource in their compartment,
//! type after type (in mapping order), each type in its search order.
//!
//! A page is filled from one compartment search per type it touches. The cursor names the
//! position in the whole sequence: every source of every returned type, numbered in order, so
//! the plain search cursor (source, last key) serves unchanged. The resources the page refers
//! to outside the compartment (practitioners, organizations...) come with it as includes, as
//! the operation's definition asks ("and any resource referenced from those").

use serde_json::{Map, Value as Json};

use super::include::{Included, include};
use super::search::{Page, SearchError, search};
use crate::db::{Database, QueryCounter};
use crate::mapping::Mapping;
use crate::mapping::references::links_of;
use crate::request::compartment::Compartment;
use crate::request::compartment::patient_types;
use crate::request::cursor::Cursor;
use crate::request::everything::EverythingRequest;
use crate::request::include::Include;
use crate::request::search::{Filter, SearchRequest};

/// One page of `$everything`.
pub struct EverythingPage {
    /// The resources.
    pub resources: Vec<Map<String, Json>>,
    /// The resources they refer to outside the compartment.
    pub included: Included,
    /// Where the next page starts, if there may be one.
    pub next: Option<Cursor>,
    /// Things the client should know (e.g. `_since` not applicable to a type).
    pub warnings: Vec<String>,
}

/// Runs `$everything`; `Ok(None)` when the patient does not exist.
pub async fn everything(
    mapping: &Mapping,
    db: &Database,
    req: &EverythingRequest,
    cursor: Option<&Cursor>,
    base_url: &str,
    max_includes: usize,
    counter: &QueryCounter,
) -> Result<Option<EverythingPage>, SearchError> {
    // Position of each type's first source in the numbering the cursor uses.
    let mut offsets = Vec::with_capacity(req.types.len());
    let mut n = 0;
    for t in &req.types {
        offsets.push(n);
        n += mapping.sources_of(t).count();
    }
    let (start, mut local) = match cursor {
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
    if cursor.is_none()
        && !req.types.iter().any(|t| t == "Patient")
        && !exists(mapping, db, req, counter).await?
    {
        return Ok(None);
    }
    let warnings = match &req.since {
        Some(since) => req
            .types
            .iter()
            .filter(|t| since_filter(mapping, t, since).is_none())
            .map(|t| format!(
                "{t} has no last-updated time here, so _since does not apply to it: all of its resources are returned"
            ))
            .collect(),
        None => Vec::new(),
    };
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
        let mut search_req = SearchRequest::new(t, remaining);
        search_req.compartment = Some(
            Compartment::patient(mapping, req.id.as_str(), t)
                .map_err(|e| crate::plan::search::PlanError::InvalidValue(e.to_string()))?,
        );
        if let Some(f) = req.since.as_ref().and_then(|s| since_filter(mapping, t, s)) {
            search_req.filters.push(f);
        }
        let Page {
            resources: found,
            next: more,
            ..
        } = search(
            mapping,
            db,
            &search_req,
            local.take().as_ref(),
            base_url,
            counter,
        )
        .await?;
        if cursor.is_none()
            && t == "Patient"
            && found.is_empty()
            && !exists(mapping, db, req, counter).await?
        {
            return Ok(None);
        }
        resources.extend(found);
        if let Some(m) = more {
            next = Some(Cursor {
                source: offsets[ti] + m.source,
                after: m.after,
                sort: Vec::new(),
            });
            break;
        }
    }
    let included = include(
        mapping,
        db,
        &referenced_outside(mapping, &req.types),
        &resources,
        max_includes,
        base_url,
        counter,
    )
    .await?;
    Ok(Some(EverythingPage {
        resources,
        included,
        next,
        warnings,
    }))
}

/// An `_include` for every declared reference from `types` to a type outside the Patient
/// compartment (the compartment's own resources come as matches).
fn referenced_outside(mapping: &Mapping, types: &[String]) -> Vec<Include> {
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

/// Whether the patient exists (one statement, no child rows).
async fn exists(
    mapping: &Mapping,
    db: &Database,
    req: &EverythingRequest,
    counter: &QueryCounter,
) -> Result<bool, SearchError> {
    let Some((source, rest)) = mapping.source_for_id("Patient", req.id.as_str()) else {
        return Ok(false);
    };
    let Some(key) = crate::plan::read::key_for_id(source, rest) else {
        return Ok(false);
    };
    let stmt = crate::plan::read::exists_by_id(source, key, db.dialect());
    Ok(!db.fetch(&stmt, counter).await?.is_empty())
}

/// `_lastUpdated=ge<since>` when every source of `resource_type` has a last-updated time.
fn since_filter(mapping: &Mapping, resource_type: &str, since: &str) -> Option<Filter> {
    if !mapping
        .sources_of(resource_type)
        .all(|s| s.last_updated.is_some())
    {
        return None;
    }
    Some(Filter {
        hops: Vec::new(),
        code: "_lastUpdated".into(),
        param_type: "date".into(),
        modifier: None,
        values: vec![format!("ge{since}")],
        link: String::new(),
        alternatives: Vec::new(),
    })
}

fn bad_cursor() -> SearchError {
    crate::plan::search::PlanError::InvalidValue("the _cursor does not fit this request".into())
        .into()
}
