//! The console page (static HTML and script, no build step: `console.html`) and the mapped
//! types it lists.

use actix_web::{HttpResponse, web};
use serde_json::{Value as Json, json};

use super::AdminState;
use crate::mapping::{Mapping, Relation};

/// `GET /`: the console.
pub async fn page() -> HttpResponse {
    super::html(include_str!("console.html"))
}

/// `GET /api/types`.
pub async fn types(state: web::Data<AdminState>) -> HttpResponse {
    HttpResponse::Ok().json(describe(state.http.fhir.mapping()))
}

/// The mapped types: per type, its sources (relation, line in the mapping file) and the search
/// parameters each declares (code and type).
pub fn describe(mapping: &Mapping) -> Json {
    let types: Vec<Json> = mapping
        .resource_types()
        .map(|t| {
            let sources: Vec<Json> = mapping
                .sources_of(t)
                .map(|s| {
                    let relation = match &s.relation {
                        Relation::Table(name) => name.clone(),
                        Relation::Query(sql) => format!("({sql})"),
                    };
                    let params: Vec<Json> = s
                        .search
                        .iter()
                        .map(|p| json!({"code": p.code, "type": format!("{:?}", p.param_type).to_lowercase()}))
                        .collect();
                    json!({
                        "name": s.name,
                        "line": s.line,
                        "relation": relation,
                        "children": s.children.len(),
                        "search": params,
                    })
                })
                .collect();
            json!({"type": t, "sources": sources})
        })
        .collect();
    json!({ "types": types })
}
