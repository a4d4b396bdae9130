//! Bearer token → [`Access`]: JWT access tokens verified here (RS256 and ES256 against the
//! issuer's JWKS, HS256 with a development secret), opaque tokens through introspection.
//! Claims checked: signature, `iss`, `aud`, `exp` and `nbf` (with the configured clock skew).
//! Why a token was refused is logged, never answered (beyond "invalid token").

use std::sync::Arc;

use jsonwebtoken::{Algorithm, DecodingKey, Validation, decode, decode_header};
use serde::Deserialize;

use super::introspect::Introspector;
use super::jwks::Jwks;
use super::scopes::{SmartScope, parse_scopes};
use super::settings::AuthSettings;
use crate::request::FhirId;

/// What a verified token grants: who, for which patient, with which scopes.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Access {
    /// `sub`: the user or system.
    pub subject: Option<String>,
    /// `client_id` (or `azp`): the app.
    pub client_id: Option<String>,
    /// `patient`: the patient in context (patient scopes are about their compartment).
    pub patient: Option<String>,
    /// The resource scopes.
    pub scopes: Vec<SmartScope>,
}

/// Why a request is not authenticated.
#[derive(Debug, Clone, thiserror::Error)]
pub enum AuthError {
    /// No `Authorization: Bearer` header.
    #[error("no bearer token")]
    Missing,
    /// The token is not valid (the reason is for the log only).
    #[error("invalid token: {0}")]
    Invalid(String),
    /// The token cannot be checked now (the introspection endpoint failed).
    #[error("the token cannot be checked: {0}")]
    Unavailable(String),
}

fn invalid(why: impl std::fmt::Display) -> AuthError {
    AuthError::Invalid(why.to_string())
}

/// A `scope` claim: space-separated text, or a list (`scp`).
#[derive(Debug, Deserialize)]
#[serde(untagged)]
pub(super) enum ScopeClaim {
    Text(String),
    List(Vec<String>),
}

impl ScopeClaim {
    fn scopes(&self) -> Vec<SmartScope> {
        match self {
            ScopeClaim::Text(t) => parse_scopes(t),
            ScopeClaim::List(l) => parse_scopes(&l.join(" ")),
        }
    }
}

/// The claims that matter here (of a JWT, or of an introspection answer).
#[derive(Debug, Deserialize)]
pub(super) struct Claims {
    pub sub: Option<String>,
    pub client_id: Option<String>,
    pub azp: Option<String>,
    pub scope: Option<ScopeClaim>,
    pub scp: Option<ScopeClaim>,
    pub patient: Option<String>,
}

impl Claims {
    /// The access these claims grant; a `patient` that is not a FHIR id invalidates them.
    pub(super) fn access(self) -> Result<Access, AuthError> {
        if let Some(p) = &self.patient {
            FhirId::parse(p).map_err(|_| invalid("the patient claim is not a FHIR id"))?;
        }
        let scopes = match (&self.scope, &self.scp) {
            (Some(s), _) | (None, Some(s)) => s.scopes(),
            (None, None) => Vec::new(),
        };
        Ok(Access {
            subject: self.sub,
            client_id: self.client_id.or(self.azp),
            patient: self.patient,
            scopes,
        })
    }
}

/// Checks bearer tokens.
pub struct Authenticator {
    settings: AuthSettings,
    audiences: Vec<String>,
    hs256: Option<DecodingKey>,
    jwks: Option<Jwks>,
    introspection: Option<Introspector>,
    base_url: String,
}

impl Authenticator {
    /// The authenticator of checked `settings` for the server at `base_url` (the default
    /// audience); loads the JWKS.
    pub async fn new(
        settings: &AuthSettings,
        base_url: &str,
    ) -> anyhow::Result<Arc<Authenticator>> {
        settings.check().map_err(anyhow::Error::msg)?;
        let client = reqwest::Client::builder()
            .timeout(std::time::Duration::from_secs(5))
            .connect_timeout(std::time::Duration::from_secs(3))
            .redirect(reqwest::redirect::Policy::none())
            .build()?;
        let jwks = match &settings.jwks {
            Some(location) => Some(
                Jwks::load(
                    location,
                    client.clone(),
                    settings.jwks_min_refresh,
                    settings.jwks_max_age,
                )
                .await?,
            ),
            None => None,
        };
        let hs256 = match &settings.hs256_secret {
            Some(secret) => {
                tracing::warn!(
                    "--hs256-secret: HS256 tokens signed with a shared secret are accepted; this is for development only"
                );
                Some(DecodingKey::from_secret(secret.as_bytes())?)
            }
            None => None,
        };
        let audiences = if settings.audiences.is_empty() {
            vec![base_url.to_string()]
        } else {
            settings.audiences.clone()
        };
        let introspection = settings.introspection.as_ref().map(|i| {
            Introspector::new(
                i.clone(),
                client.clone(),
                settings.issuer.clone(),
                audiences.clone(),
                settings.introspection_cache,
                settings.clock_skew,
            )
        });
        Ok(Arc::new(Authenticator {
            settings: settings.clone(),
            audiences,
            hs256,
            jwks,
            introspection,
            base_url: base_url.to_string(),
        }))
    }

    /// The settings.
    pub fn settings(&self) -> &AuthSettings {
        &self.settings
    }

    /// The server's FHIR base URL.
    pub fn base_url(&self) -> &str {
        &self.base_url
    }

    /// The access `token` grants.
    pub async fn authenticate(&self, token: &str) -> Result<Access, AuthError> {
        let local = self.jwks.is_some() || self.hs256.is_some();
        if local && token.split('.').count() == 3 {
            return self.verify_jwt(token).await;
        }
        match &self.introspection {
            Some(i) => i.introspect(token).await,
            None => Err(invalid("not a JWT")),
        }
    }

    async fn verify_jwt(&self, token: &str) -> Result<Access, AuthError> {
        let header = decode_header(token).map_err(invalid)?;
        let (key, alg) = match header.alg {
            Algorithm::HS256 => match &self.hs256 {
                Some(k) => (k.clone(), Algorithm::HS256),
                None => return Err(invalid("HS256 tokens are not accepted")),
            },
            alg @ (Algorithm::RS256 | Algorithm::ES256) => {
                let Some(jwks) = &self.jwks else {
                    return Err(invalid("no JWKS is configured"));
                };
                let key = jwks
                    .key(header.kid.as_deref(), alg)
                    .await
                    .ok_or_else(|| invalid("no key for the token's kid and alg"))?;
                (key.key, key.algorithm)
            }
            other => return Err(invalid(format!("algorithm {other:?} is not accepted"))),
        };
        let mut v = Validation::new(alg);
        v.leeway = self.settings.clock_skew.as_secs();
        v.validate_nbf = true;
        v.validate_exp = true;
        v.validate_aud = true;
        v.set_required_spec_claims(&["exp", "iss", "aud"]);
        if let Some(iss) = &self.settings.issuer {
            v.set_issuer(&[iss]);
        }
        v.set_audience(&self.audiences);
        let data = decode::<Claims>(token, &key, &v).map_err(invalid)?;
        data.claims.access()
    }
}
