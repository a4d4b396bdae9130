//! The CapabilityStatement, generated from the mapping: it lists exactly what works.

use serde_json::{Value as Json, json};

use crate::mapping::Mapping;

/// Facts about this server instance that go into the statement.
#[derive(Debug, Clone)]
pub struct ServerInfo {
    /// Base URL of the FHIR endpoint, e.g. `http://127.0.0.1:8080/fhir`.
    pub base_url: String,
    /// When the server started (RFC 3339), used as the statement's date.
    pub started: String,
}

/// The CapabilityStatement for `mapping`.
pub fn capability_statement(mapping: &Mapping, info: &ServerInfo) -> Json {
    let resources: Vec<Json> = mapping
        .resource_types()
        .map(|rt| {
            let sources: Vec<_> = mapping.sources_of(rt).collect();
            let versioned = sources.iter().all(|s| s.version.is_some());
            let modified = sources.iter().all(|s| s.last_updated.is_some());
            let conditional_read = match (versioned, modified) {
                (true, true) => "full-support",
                (false, true) => "modified-since",
                (true, false) => "not-match",
                (false, false) => "not-supported",
            };
            json!({
                "type": rt,
                "profile": format!("http://hl7.org/fhir/StructureDefinition/{rt}"),
                "interaction": [{"code": "read"}],
                "versioning": if versioned { "versioned" } else { "no-version" },
                "readHistory": false,
                "updateCreate": false,
                "conditionalCreate": false,
                "conditionalRead": conditional_read,
                "conditionalUpdate": false,
                "conditionalDelete": "not-supported",
            })
        })
        .collect();
    json!({
        "resourceType": "CapabilityStatement",
        "status": "active",
        "date": info.started,
        "publisher": "fhir-facade",
        "kind": "instance",
        "software": {
            "name": "fhir-facade",
            "version": env!("CARGO_PKG_VERSION"),
        },
        "implementation": {
            "description": "Read-only FHIR R4 façade over a relational database",
            "url": info.base_url,
        },
        "fhirVersion": "4.0.1",
        "format": ["json", "application/fhir+json"],
        "rest": [{
            "mode": "server",
            "resource": resources,
        }],
    })
}
