//! Admission at the door: the sizes of the request target and headers, and the parameters of
//! the query string (how many, how many values, no control characters), checked before the
//! request is routed, so that every route is covered and an over-limit request costs nothing.
//! Bodies are checked where they are read ([`super::extract::read_form_body`]).

use actix_web::body::{EitherBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::middleware::Next;
use actix_web::{Error, web};

use super::HttpState;
use super::error::ApiError;
use super::extract::query_params;
use crate::request::{Limit, RequestLimits};

/// Middleware: answers an OperationOutcome instead of routing a request over a limit.
pub async fn admit(
    req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<EitherBody<impl MessageBody>>, Error> {
    let limits = req
        .app_data::<web::Data<HttpState>>()
        .map(|s| s.fhir.limits().request)
        .unwrap_or_default();
    if let Err(e) = check(&req, &limits) {
        let res = e.response_for(req.request());
        return Ok(req.into_response(res).map_into_right_body());
    }
    Ok(next.call(req).await?.map_into_left_body())
}

fn check(req: &ServiceRequest, limits: &RequestLimits) -> Result<(), ApiError> {
    let target = req
        .uri()
        .path_and_query()
        .map_or(req.path().len(), |pq| pq.as_str().len());
    limits.check(Limit::UrlBytes, target)?;
    let headers: usize = req
        .headers()
        .iter()
        // "name: value\r\n"
        .map(|(n, v)| n.as_str().len() + v.len() + 4)
        .sum();
    limits.check(Limit::HeaderBytes, headers)?;
    limits.check_params(&query_params(req.request())?)?;
    Ok(())
}
