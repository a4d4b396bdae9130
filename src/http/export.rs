//! Bulk Data `$export`: the kick-off (`[base]/$export`, `[base]/Patient/$export`, GET or POST
//! with a `Parameters` body), the status URL (`[base]/$export-status/[id]`: poll, `DELETE`
//! cancels) and the file downloads (`[base]/$export-file/[id]/[file]`).

use std::sync::Arc;

use actix_web::http::{StatusCode, header};
use actix_web::{HttpRequest, HttpResponse, web};
use futures_util::StreamExt;

use super::HttpState;
use super::audit;
use super::error::ApiError;
use super::extract::{lenient, query_params, read_form_body};
use crate::auth::{AuthError, Interaction};
use crate::export::job::{Owner, is_file_name, is_job_id};
use crate::export::{Exporter, Plan, Status};
use crate::plan::Scope;
use crate::request::RequestError;
use crate::request::export::{self, ExportLevel, NDJSON};

/// How long a client is asked to wait between two polls (seconds).
const RETRY_AFTER: &str = "1";

fn exporter(state: &HttpState) -> Result<&Arc<Exporter>, ApiError> {
    state.export.as_ref().ok_or_else(|| {
        ApiError::NotFound(
            "$export is not enabled on this server (start it with --export-dir or --export-store)"
                .into(),
        )
    })
}

/// Who asks (SMART mode): only they see the jobs they start.
fn owner(req: &HttpRequest, state: &HttpState) -> Result<Option<Owner>, ApiError> {
    if state.auth.is_none() {
        return Ok(None);
    }
    let access = super::auth::access(req).ok_or(AuthError::Missing)?;
    Ok(Some(Owner {
        subject: access.subject.clone(),
        client_id: access.client_id.clone(),
    }))
}

/// `GET [base]/$export`.
pub async fn system_get(
    req: HttpRequest,
    state: web::Data<HttpState>,
) -> Result<HttpResponse, ApiError> {
    let params = query_params(&req)?;
    kick_off(&req, &state, ExportLevel::System, params, Vec::new()).await
}

/// `POST [base]/$export` with a `Parameters` body.
pub async fn system_post(
    req: HttpRequest,
    body: web::Payload,
    state: web::Data<HttpState>,
) -> Result<HttpResponse, ApiError> {
    let body = body_params(&req, body, &state).await?;
    kick_off(&req, &state, ExportLevel::System, query_params(&req)?, body).await
}

/// `GET [base]/Patient/$export`.
pub async fn patient_get(
    req: HttpRequest,
    state: web::Data<HttpState>,
) -> Result<HttpResponse, ApiError> {
    let params = query_params(&req)?;
    kick_off(&req, &state, ExportLevel::Patient, params, Vec::new()).await
}

/// `POST [base]/Patient/$export` with a `Parameters` body.
pub async fn patient_post(
    req: HttpRequest,
    body: web::Payload,
    state: web::Data<HttpState>,
) -> Result<HttpResponse, ApiError> {
    let body = body_params(&req, body, &state).await?;
    kick_off(
        &req,
        &state,
        ExportLevel::Patient,
        query_params(&req)?,
        body,
    )
    .await
}

/// The parameters of a `Parameters` body (none for an empty body).
async fn body_params(
    req: &HttpRequest,
    body: web::Payload,
    state: &HttpState,
) -> Result<Vec<(String, String)>, ApiError> {
    let body = read_form_body(req, body, state).await?;
    let mut params = Vec::new();
    if !body.is_empty() {
        let json: serde_json::Value = serde_json::from_slice(&body).map_err(|e| {
            RequestError::InvalidParameter(format!("the $export body is not JSON: {e}"))
        })?;
        params.extend(export::parameters_body(&json)?);
    }
    Ok(params)
}

fn respond_async(req: &HttpRequest) -> bool {
    req.headers()
        .get_all("prefer")
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split([',', ';']))
        .any(|p| p.trim().eq_ignore_ascii_case("respond-async"))
}

async fn kick_off(
    req: &HttpRequest,
    state: &HttpState,
    level: ExportLevel,
    params: Vec<(String, String)>,
    body: Vec<(String, String)>,
) -> Result<HttpResponse, ApiError> {
    let exporter = exporter(state)?;
    if !respond_async(req) {
        return Err(RequestError::InvalidParameter(
            "$export runs asynchronously: send the header 'Prefer: respond-async'".into(),
        )
        .into());
    }
    let fhir = &state.fhir;
    let opts = fhir.search_options(lenient(req, state));
    let request = export::parse(fhir.mapping(), &opts, level, &params, &body)?;
    audit::asked(req, Interaction::Export, "*");
    let owner = owner(req, state)?;
    let types = match &state.auth {
        None => request
            .types
            .iter()
            .map(|t| (t.clone(), Scope::default()))
            .collect(),
        Some(_) => {
            let access = super::auth::access(req).ok_or(AuthError::Missing)?;
            crate::auth::policy::export_scopes(
                &access,
                fhir.mapping(),
                &fhir.search_options(false),
                level == ExportLevel::System,
                &request.types,
                request.explicit_types,
            )?
        }
    };
    let patient_scope = match &state.auth {
        None => Scope::default(),
        Some(_) if request.patients.is_empty() => Scope::default(),
        Some(_) => {
            let access = super::auth::access(req).ok_or(AuthError::Missing)?;
            let patient = ["Patient".to_string()];
            crate::auth::policy::export_scopes(
                &access,
                fhir.mapping(),
                &fhir.search_options(false),
                false,
                &patient,
                false,
            )
            .ok()
            .and_then(|mut s| s.pop())
            // No Patient scope: no patient can be confirmed.
            .map_or_else(|| Scope::rules(Vec::new()), |(_, s)| s)
        }
    };
    let path = match level {
        ExportLevel::System => "$export",
        ExportLevel::Patient => "Patient/$export",
    };
    let mut url = format!("{}/{path}", fhir.base_url());
    if !req.query_string().is_empty() {
        url = format!("{url}?{}", req.query_string());
    }
    let id = exporter
        .start(
            Plan {
                request,
                types,
                patient_scope,
            },
            url,
            owner,
        )
        .await
        .map_err(|e| {
            tracing::error!(error = %e, "cannot start an export job");
            ApiError::Export("the export cannot be stored on this server now".into())
        })?;
    Ok(HttpResponse::Accepted()
        .insert_header((
            header::CONTENT_LOCATION,
            format!("{}/$export-status/{id}", fhir.base_url()),
        ))
        .finish())
}

fn unknown(id: &str) -> ApiError {
    ApiError::NotFound(format!(
        "no export job '{id}' here (unknown, expired or deleted)"
    ))
}

/// `GET [base]/$export-status/[id]`: 202 while the job runs, the manifest when it is complete,
/// an OperationOutcome when it failed.
pub async fn status(
    req: HttpRequest,
    path: web::Path<String>,
    state: web::Data<HttpState>,
) -> Result<HttpResponse, ApiError> {
    let exporter = exporter(&state)?;
    let id = path.into_inner();
    let owner = owner(&req, &state)?;
    if !is_job_id(&id) {
        return Err(unknown(&id));
    }
    let base = state.fhir.base_url();
    match exporter.status(&id, owner.as_ref()) {
        None => Err(unknown(&id)),
        Some(Status::Running(progress)) => Ok(HttpResponse::Accepted()
            .insert_header((
                "X-Progress",
                progress.replace(|c: char| !c.is_ascii() || c.is_ascii_control(), " "),
            ))
            .insert_header((header::RETRY_AFTER, RETRY_AFTER))
            .finish()),
        Some(Status::Failed(why)) => Err(ApiError::Export(format!("the export failed: {why}"))),
        Some(Status::Complete(record)) => {
            let manifest = exporter.manifest(&record, base).await.map_err(|e| {
                tracing::error!(job = %id, error = %e, "cannot sign the export's download URLs");
                ApiError::Export("the export's download URLs cannot be made now".into())
            })?;
            Ok(HttpResponse::Ok()
                .content_type("application/json")
                .body(manifest.to_string()))
        }
    }
}

/// `DELETE [base]/$export-status/[id]`: cancels the job and removes its files (202).
pub async fn cancel(
    req: HttpRequest,
    path: web::Path<String>,
    state: web::Data<HttpState>,
) -> Result<HttpResponse, ApiError> {
    let exporter = exporter(&state)?;
    let id = path.into_inner();
    let owner = owner(&req, &state)?;
    if is_job_id(&id) && exporter.cancel(&id, owner.as_ref()).await {
        Ok(HttpResponse::Accepted().finish())
    } else {
        Err(unknown(&id))
    }
}

/// `GET [base]/$export-file/[id]/[file]`: one NDJSON file of a complete job, streamed.
pub async fn file(
    req: HttpRequest,
    path: web::Path<(String, String)>,
    state: web::Data<HttpState>,
) -> Result<HttpResponse, ApiError> {
    let exporter = exporter(&state)?;
    let (id, file) = path.into_inner();
    let owner = owner(&req, &state)?;
    let missing = || ApiError::NotFound(format!("no export file '{id}/{file}' here"));
    if !is_job_id(&id) || !is_file_name(&file) {
        return Err(missing());
    }
    let stream = exporter
        .file(&id, &file, owner.as_ref())
        .await
        .ok_or_else(missing)?;
    let body = stream.map(|chunk| chunk.map_err(actix_web::error::ErrorInternalServerError));
    Ok(HttpResponse::build(StatusCode::OK)
        .content_type(NDJSON)
        .streaming(body))
}
