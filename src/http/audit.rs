//! The audit trail: one structured event per request (target `audit`) saying who (the token's
//! `sub` and `client_id`, the patient in context) did what (the interaction, the types), how
//! many resources it was given, and the outcome (allowed, 401, 403, 404...). Never the token,
//! nor the query string (search values can be patient data); the path is logged, as it names
//! the resource read.

use std::collections::BTreeSet;
use std::sync::{Arc, Mutex};

use actix_web::{HttpMessage, HttpRequest};

use crate::assemble::bundle::SearchSet;
use crate::auth::{Access, Interaction};

/// What a request did, filled in by its handler.
#[derive(Debug, Default)]
pub struct AuditRecord {
    facts: Mutex<Facts>,
}

#[derive(Debug, Default)]
struct Facts {
    interaction: Option<&'static str>,
    /// The type the request asked for (first asked, for metrics).
    asked: Option<String>,
    types: BTreeSet<String>,
    returned: usize,
}

impl AuditRecord {
    fn facts(&self) -> std::sync::MutexGuard<'_, Facts> {
        self.facts.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The interaction and the resource type the request asked for, when its handler said
    /// (`None` for paths that are not FHIR interactions).
    pub fn asked(&self) -> (Option<&'static str>, Option<String>) {
        let f = self.facts();
        (f.interaction, f.asked.clone())
    }
}

fn record(req: &HttpRequest) -> Option<Arc<AuditRecord>> {
    req.extensions().get::<Arc<AuditRecord>>().cloned()
}

/// The request asks for `interaction` on `resource_type`.
pub fn asked(req: &HttpRequest, interaction: Interaction, resource_type: &str) {
    if let Some(r) = record(req) {
        let mut f = r.facts();
        f.interaction = Some(interaction.name());
        if f.asked.is_none() {
            f.asked = Some(resource_type.to_string());
        }
        f.types.insert(resource_type.to_string());
    }
}

/// The request returned one resource of `resource_type`.
pub fn returned_one(req: &HttpRequest, resource_type: &str) {
    if let Some(r) = record(req) {
        let mut f = r.facts();
        f.types.insert(resource_type.to_string());
        f.returned += 1;
    }
}

/// The request returned the resources of `bundle` (not its OperationOutcome entries).
pub fn returned_bundle(req: &HttpRequest, bundle: &SearchSet) {
    let Some(r) = record(req) else {
        return;
    };
    let mut f = r.facts();
    for resource in bundle.returned() {
        let t = resource.resource_type();
        if !t.is_empty() {
            f.types.insert(t.to_string());
            f.returned += 1;
        }
    }
}

/// Logs the audit event of a finished request.
pub fn log(record: &AuditRecord, access: Option<&Access>, method: &str, path: &str, status: u16) {
    let f = record.facts();
    let outcome = match status {
        200..=399 => "allowed",
        401 => "401",
        403 => "403",
        404 => "404",
        _ => "error",
    };
    let types: Vec<&str> = f.types.iter().map(String::as_str).collect();
    tracing::info!(
        target: "audit",
        sub = access.and_then(|a| a.subject.as_deref()).unwrap_or("-"),
        client_id = access.and_then(|a| a.client_id.as_deref()).unwrap_or("-"),
        patient = access.and_then(|a| a.patient.as_deref()).unwrap_or("-"),
        interaction = f.interaction.unwrap_or("-"),
        types = types.join(","),
        count = f.returned,
        outcome,
        status,
        %method,
        %path,
        "audit"
    );
}
