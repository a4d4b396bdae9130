//! What the server tells clients about authorization: the SMART configuration
//! (`[base]/.well-known/smart-configuration`) and `CapabilityStatement.rest.security`. Pure.

use serde_json::{Value as Json, json};

use super::settings::{AuthSettings, is_url};

/// What this resource server supports of SMART App Launch (the authorization server's own
/// capabilities, such as launch modes, are not known here and not claimed).
pub const CAPABILITIES: &[&str] = &[
    "permission-v1",
    "permission-v2",
    "permission-patient",
    "permission-user",
];

/// The scopes this server honours (granular v2 scopes add a search query to a type's).
pub const SCOPES_SUPPORTED: &[&str] = &[
    "patient/*.rs",
    "user/*.rs",
    "system/*.rs",
    "patient/*.read",
    "user/*.read",
    "system/*.read",
];

/// `/.well-known/smart-configuration` in SMART mode.
pub fn smart_configuration(s: &AuthSettings) -> Json {
    let mut doc = serde_json::Map::new();
    if let Some(iss) = &s.issuer {
        doc.insert("issuer".into(), json!(iss));
    }
    if let Some(jwks) = s.jwks.as_ref().filter(|j| is_url(j)) {
        doc.insert("jwks_uri".into(), json!(jwks));
    }
    if let Some(u) = &s.authorize_url {
        doc.insert("authorization_endpoint".into(), json!(u));
    }
    if let Some(u) = &s.token_url {
        doc.insert("token_endpoint".into(), json!(u));
    }
    if let Some(i) = &s.introspection {
        doc.insert("introspection_endpoint".into(), json!(i.url));
    }
    doc.insert("scopes_supported".into(), json!(SCOPES_SUPPORTED));
    doc.insert("capabilities".into(), json!(CAPABILITIES));
    Json::Object(doc)
}

/// `CapabilityStatement.rest.security`: CORS when origins are allowed; in SMART mode the
/// SMART-on-FHIR service and the authorization server's endpoints (the oauth-uris extension).
/// `None` when there is nothing to say.
pub fn rest_security(s: &AuthSettings) -> Option<Json> {
    let cors = !s.cors_origins.is_empty();
    if !s.is_smart() && !cors {
        return None;
    }
    let mut security = serde_json::Map::new();
    security.insert("cors".into(), json!(cors));
    if s.is_smart() {
        security.insert(
            "service".into(),
            json!([{
                "coding": [{
                    "system": "http://terminology.hl7.org/CodeSystem/restful-security-service",
                    "code": "SMART-on-FHIR"
                }],
                "text": "OAuth2 using SMART-on-FHIR profile (see http://docs.smarthealthit.org)"
            }]),
        );
        let uris: Vec<Json> = [
            ("authorize", &s.authorize_url),
            ("token", &s.token_url),
            (
                "introspect",
                &s.introspection.as_ref().map(|i| i.url.clone()),
            ),
        ]
        .into_iter()
        .filter_map(|(name, url)| url.as_ref().map(|u| json!({"url": name, "valueUri": u})))
        .collect();
        if !uris.is_empty() {
            security.insert(
                "extension".into(),
                json!([{
                    "url": "http://fhir-registry.smarthealthit.org/StructureDefinition/oauth-uris",
                    "extension": uris
                }]),
            );
        }
        security.insert(
            "description".into(),
            json!("Every request except metadata and the SMART configuration needs a bearer access token; SMART v1 and v2 scopes (with granular queries) are enforced in every SQL statement."),
        );
    }
    Some(Json::Object(security))
}
