//! `GET [base]/.well-known/smart-configuration` (SMART mode only).

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, web};

use super::HttpState;
use super::error::ApiError;
use crate::auth::discovery::smart_configuration;

/// The SMART configuration: where to authorize, which scopes and capabilities.
pub async fn configuration(state: web::Data<HttpState>) -> Result<HttpResponse, ApiError> {
    let Some(auth) = &state.auth else {
        return Err(ApiError::NotFound(
            "this server does not use SMART authorization (--auth none)".into(),
        ));
    };
    Ok(HttpResponse::build(StatusCode::OK)
        .content_type("application/json")
        .body(smart_configuration(auth.settings()).to_string()))
}
