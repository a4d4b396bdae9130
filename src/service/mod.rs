//! The FHIR service, independent of HTTP: each interaction planned ([`crate::plan`]), run
//! ([`crate::db`]) and assembled ([`crate::assemble`]) into what the client receives. The only
//! layer besides [`crate::http`] and [`crate::db`] that performs I/O.
//!
//! [`Fhir`] holds what every request shares (mapping, database, base URL, cursor codec,
//! limits); each call takes a [`RequestContext`] (the statement counter, the [`Scope`]).
//! Failures are one [`ServiceError`].

mod everything;
pub mod export;
mod include;
mod links;
mod matches;
mod read;
mod rows;
mod search;

use std::sync::Arc;

use serde_json::Value as Json;

pub use everything::referenced_outside;
pub use matches::size_subqueries;
pub use read::ReadResult;

use crate::assemble::capability::{ServerInfo, capability_statement};
use crate::db::{Cost, Database, DbError, QueryCounter};
use crate::mapping::Mapping;
use crate::plan::{PlanError, Scope};
use crate::request::cursor::CursorCodec;
use crate::request::search::SearchOptions;
use crate::request::{Handling, RequestError, RequestLimits};
use crate::sql::Caps;

/// Why an interaction failed.
#[derive(Debug, thiserror::Error)]
pub enum ServiceError {
    /// The request is wrong (or asks for what is not supported).
    #[error(transparent)]
    Request(#[from] RequestError),
    /// The request cannot be answered as asked.
    #[error(transparent)]
    Plan(#[from] PlanError),
    /// No such resource.
    #[error("{0}")]
    NotFound(String),
    /// The database failed.
    #[error(transparent)]
    Db(#[from] DbError),
}

/// The server's limits on what one request may ask.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Largest `_count` accepted.
    pub max_count: usize,
    /// Most resources a chain or `_has` may cross.
    pub max_chain_depth: usize,
    /// Most resources `_include`/`_revinclude` (and `$everything`) add to a page.
    pub max_includes: usize,
    /// What one request may ask (checked while it is parsed).
    pub request: RequestLimits,
    /// How unknown or unsupported parameters are handled when a request does not say.
    pub handling: Handling,
}

/// What one request brings to every call: where its statements are counted, and its scope.
#[derive(Debug, Clone, Default)]
pub struct RequestContext {
    /// Counts the request's SQL statements (for the log and the optional header).
    pub counter: Arc<QueryCounter>,
    /// Conditions every statement of the request carries.
    pub scope: Scope,
}

/// The FHIR service over one mapped database. Holds no per-client state, so any instance
/// behind a load balancer can answer any request.
pub struct Fhir {
    mapping: Arc<Mapping>,
    db: Database,
    caps: Caps,
    base_url: String,
    cursors: CursorCodec,
    limits: Limits,
    capability: Json,
}

impl Fhir {
    /// The service over `db` (of capabilities `caps`) with its checked `mapping`, answering at
    /// `base_url`, signing cursors with `cursors`. Its CapabilityStatement is made now.
    pub fn new(
        mapping: Arc<Mapping>,
        db: Database,
        caps: Caps,
        base_url: String,
        cursors: CursorCodec,
        limits: Limits,
    ) -> Fhir {
        let info = ServerInfo {
            base_url: base_url.clone(),
            started: chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
            max_chain_depth: limits.max_chain_depth,
            handling: limits.handling,
        };
        let capability = capability_statement(&mapping, &info);
        Fhir {
            mapping,
            db,
            caps,
            base_url,
            cursors,
            limits,
            capability,
        }
    }

    /// The same service, its CapabilityStatement advertising `security` (`rest.security`:
    /// authorization, CORS).
    pub fn with_security(mut self, security: Json) -> Fhir {
        crate::assemble::capability::set_security(&mut self.capability, security);
        self
    }

    /// The same service, its CapabilityStatement advertising Bulk Data `$export`.
    pub fn with_export(mut self) -> Fhir {
        crate::assemble::capability::set_export(&mut self.capability);
        self
    }

    /// The checked mapping (what requests are parsed against).
    pub fn mapping(&self) -> &Mapping {
        &self.mapping
    }

    /// What the database can do.
    pub fn caps(&self) -> &Caps {
        &self.caps
    }

    /// The database (all its copies).
    pub fn database(&self) -> &Database {
        &self.db
    }

    /// The public FHIR base URL.
    pub fn base_url(&self) -> &str {
        &self.base_url
    }

    /// The limits on requests.
    pub fn limits(&self) -> Limits {
        self.limits
    }

    /// The CapabilityStatement.
    pub fn capability(&self) -> &Json {
        &self.capability
    }

    /// The handling of a request that asks for `preferred` (`Prefer: handling=...`; none: the
    /// server's default).
    pub fn handling(&self, preferred: Option<Handling>) -> Handling {
        Handling::or_default(preferred, self.limits.handling)
    }

    /// How searches are parsed here (`lenient`: unknown parameters are ignored and reported).
    pub fn search_options(&self, lenient: bool) -> SearchOptions<'_> {
        SearchOptions {
            base_url: &self.base_url,
            max_count: self.limits.max_count,
            max_chain_depth: self.limits.max_chain_depth,
            lenient,
            limits: self.limits.request,
        }
    }

    /// The database handle of one request of `cost` (the next copy in turn, counting into the
    /// request, within the database budget).
    fn db(&self, cx: &RequestContext, cost: Cost) -> Database {
        self.db.for_request(cx.counter.clone(), cost)
    }
}
