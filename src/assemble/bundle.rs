//! searchset Bundles.

use serde_json::{Map, Value as Json, json};

use super::outcome::{Issue, operation_outcome};

/// A page of search results, ready to be written as a Bundle.
pub struct SearchSet<'a> {
    /// FHIR base URL.
    pub base_url: &'a str,
    /// The matches.
    pub resources: Vec<Map<String, Json>>,
    /// Resources included by `_include`/`_revinclude`.
    pub included: Vec<Map<String, Json>>,
    /// `self` link.
    pub self_link: String,
    /// `next` link.
    pub next_link: Option<String>,
    /// `total`, when counted.
    pub total: Option<u64>,
    /// Warnings (e.g. parameters ignored under lenient handling), as an outcome entry.
    pub warnings: Vec<Issue>,
}

/// The Bundle of type searchset.
pub fn searchset(set: SearchSet) -> Json {
    let mut links = vec![json!({"relation": "self", "url": set.self_link})];
    if let Some(next) = set.next_link {
        links.push(json!({"relation": "next", "url": next}));
    }
    let entry = |r: Map<String, Json>, mode: &str| {
        let full_url = format!(
            "{}/{}/{}",
            set.base_url,
            r["resourceType"].as_str().unwrap_or_default(),
            r["id"].as_str().unwrap_or_default()
        );
        json!({"fullUrl": full_url, "resource": r, "search": {"mode": mode}})
    };
    let mut entries: Vec<Json> = set
        .resources
        .into_iter()
        .map(|r| entry(r, "match"))
        .chain(set.included.into_iter().map(|r| entry(r, "include")))
        .collect();
    if !set.warnings.is_empty() {
        entries.push(json!({
            "resource": operation_outcome(&set.warnings),
            "search": {"mode": "outcome"},
        }));
    }
    let mut bundle = Map::new();
    bundle.insert("resourceType".into(), json!("Bundle"));
    bundle.insert("type".into(), json!("searchset"));
    if let Some(t) = set.total {
        bundle.insert("total".into(), json!(t));
    }
    bundle.insert("link".into(), Json::Array(links));
    if !entries.is_empty() {
        bundle.insert("entry".into(), Json::Array(entries));
    }
    Json::Object(bundle)
}
