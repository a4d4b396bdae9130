//! The statements of a request as the façade runs them, recorded once at set-up so that the
//! reference can run the same SQL without the façade.
//!
//! A request is run through the façade's own service ([`Fhir`], built with the benchmarked
//! server's settings: limits, base URL, cursor secret) with a database handle that records
//! every statement with its bound values — as `fhir-facade explain` and the admin console's
//! query page do. So the recorded statements are the planner's, including those that depend
//! on the rows of earlier ones (child rows, `_include`, the pages of `$everything`): their
//! keys are those the database returned.

use std::sync::Arc;

use fhir_facade::config::Settings;
use fhir_facade::db::{Database, QueryCounter};
use fhir_facade::mapping::Mapping;
use fhir_facade::request::ReadRequest;
use fhir_facade::request::cursor::CursorCodec;
use fhir_facade::request::everything::EverythingRequest;
use fhir_facade::request::search::SearchRequest;
use fhir_facade::service::{Fhir, RequestContext};
use fhir_facade::sql::{Caps, Statement};

/// The façade's service as the benchmarked server builds it from `settings`, answering at
/// `base_url` (so that its paging cursors are the server's).
pub fn service(
    settings: &Settings,
    mapping: Mapping,
    db: Database,
    caps: Caps,
    base_url: &str,
) -> Fhir {
    let secret = settings
        .cursor_secret
        .as_deref()
        .expect("the benchmark sets a cursor secret");
    let limits = fhir_facade::startup::limits(settings);
    Fhir::new(
        Arc::new(mapping),
        db,
        caps,
        base_url.to_string(),
        CursorCodec::new(secret.as_bytes()),
        limits,
    )
}

/// Runs `query` (what follows the base URL: `Patient?family=smi`, `Patient/1/$everything`, a
/// `next` link's tail) through `fhir` and returns the statements it ran, in order.
pub async fn record(fhir: &Fhir, query: &str) -> Result<Vec<Statement>, String> {
    let cx = RequestContext {
        counter: Arc::new(QueryCounter::recording()),
        ..RequestContext::default()
    };
    let query = query.trim_start_matches('/');
    let (path, query_string) = query.split_once('?').unwrap_or((query, ""));
    let params: Vec<(String, String)> = form_urlencoded::parse(query_string.as_bytes())
        .into_owned()
        .collect();
    let segments: Vec<&str> = path.split('/').filter(|s| !s.is_empty()).collect();
    let mapping = fhir.mapping();
    let err = |e: &dyn std::fmt::Display| format!("{query}: {e}");
    match segments.as_slice() {
        [t] => {
            let options = fhir.search_options(fhir.handling(None).is_lenient());
            let req = SearchRequest::parse(mapping, &options, t, &params).map_err(|e| err(&e))?;
            fhir.search(&cx, &req).await.map_err(|e| err(&e))?;
        }
        ["Patient", id, "$everything"] => {
            let max = fhir.limits().max_count;
            let req =
                EverythingRequest::parse(mapping, id, &params, true, max).map_err(|e| err(&e))?;
            fhir.everything(&cx, &req).await.map_err(|e| err(&e))?;
        }
        [t, id] => {
            let req = ReadRequest::parse(mapping, t, id, &params, true).map_err(|e| err(&e))?;
            fhir.read(&cx, &req).await.map_err(|e| err(&e))?;
        }
        _ => return Err(format!("{query}: not a query the benchmark records")),
    }
    Ok(cx
        .counter
        .recorded()
        .into_iter()
        .map(|r| r.statement)
        .collect())
}
