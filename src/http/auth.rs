//! Authentication of every request (SMART mode): the bearer token checked by
//! [`crate::auth::Authenticator`], the [`Access`] it grants put in the request's extensions for
//! the handlers (which turn it into the request's scope, see [`super::extract::context`]); and
//! the audit event of every request, in both modes.
//!
//! Open without a token: the CapabilityStatement, the SMART configuration and the health
//! checks (CORS preflights are answered before this middleware).

use std::sync::Arc;

use actix_web::body::{EitherBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header;
use actix_web::middleware::Next;
use actix_web::{Error, HttpMessage, web};

use super::HttpState;
use super::audit::{self, AuditRecord};
use super::error::ApiError;
use crate::auth::{Access, AuthError};

/// Middleware: authenticates the request (SMART mode) and logs its audit event.
pub async fn authenticate(
    req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<EitherBody<impl MessageBody>>, Error> {
    let record = Arc::new(AuditRecord::default());
    req.extensions_mut().insert(record.clone());
    let method = req.method().to_string();
    let path = req.path().to_string();
    let state = req.app_data::<web::Data<HttpState>>();
    let open = state.is_none_or(|s| s.is_open(&path));
    if crate::http::health::PATHS.contains(&path.as_str()) {
        // Probed every few seconds: not audited.
        return Ok(next.call(req).await?.map_into_left_body());
    }
    let authenticator = state.and_then(|s| s.auth.clone());
    let mut access = None;
    if let Some(authenticator) = authenticator
        && !open
    {
        let checked = match bearer(&req) {
            Some(token) => authenticator.authenticate(&token).await,
            None => Err(AuthError::Missing),
        };
        match checked {
            Ok(a) => {
                let a = Arc::new(a);
                req.extensions_mut().insert(a.clone());
                access = Some(a);
            }
            Err(e) => {
                if let AuthError::Invalid(why) | AuthError::Unavailable(why) = &e {
                    tracing::info!(reason = %why, %path, "access token refused");
                }
                let res = ApiError::Unauthorized(e).response_for(req.request());
                let res = req.into_response(res);
                audit::log(&record, None, &method, &path, res.status().as_u16());
                return Ok(res.map_into_right_body());
            }
        }
    }
    let res = next.call(req).await?;
    audit::log(
        &record,
        access.as_deref(),
        &method,
        &path,
        res.status().as_u16(),
    );
    Ok(res.map_into_left_body())
}

/// The token of `Authorization: Bearer <token>` (the scheme is case-insensitive).
fn bearer(req: &ServiceRequest) -> Option<String> {
    let value = req.headers().get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.trim().split_once(' ')?;
    let token = token.trim();
    (scheme.eq_ignore_ascii_case("bearer") && !token.is_empty()).then(|| token.to_string())
}

/// The access of an authenticated request (none in `--auth none` mode).
pub fn access(req: &actix_web::HttpRequest) -> Option<Arc<Access>> {
    req.extensions().get::<Arc<Access>>().cloned()
}
