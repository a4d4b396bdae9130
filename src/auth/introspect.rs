//! Opaque access tokens checked by OAuth 2.0 token introspection (RFC 7662) at the
//! authorization server, with this server's client credentials. Answers are reused for a short
//! time (never past the token's `exp`), keyed by a hash of the token, never the token itself.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use serde::Deserialize;
use sha2::{Digest, Sha256};

use super::settings::IntrospectionSettings;
use super::token::{Access, AuthError, Claims};

/// Most answers kept.
const MAX_CACHED: usize = 10_000;

/// Answers by token hash: until when each is reused, and what it was.
type Cache = HashMap<[u8; 32], (Instant, Result<Access, String>)>;

/// An introspection answer (RFC 7662 §2.2) with the SMART claims.
#[derive(Debug, Deserialize)]
struct Answer {
    active: bool,
    exp: Option<i64>,
    nbf: Option<i64>,
    iss: Option<String>,
    aud: Option<Audience>,
}

#[derive(Debug, Deserialize)]
#[serde(untagged)]
enum Audience {
    One(String),
    Many(Vec<String>),
}

impl Audience {
    fn contains_any(&self, accepted: &[String]) -> bool {
        match self {
            Audience::One(a) => accepted.contains(a),
            Audience::Many(l) => l.iter().any(|a| accepted.contains(a)),
        }
    }
}

/// The introspection client.
pub struct Introspector {
    settings: IntrospectionSettings,
    client: reqwest::Client,
    issuer: Option<String>,
    audiences: Vec<String>,
    ttl: Duration,
    skew: Duration,
    cache: Mutex<Cache>,
}

fn now_secs() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or_default()
}

impl Introspector {
    /// A client of the endpoint in `settings`; tokens must come from `issuer` (when set, and
    /// when the answer names one) for one of `audiences` (when the answer names one).
    pub fn new(
        settings: IntrospectionSettings,
        client: reqwest::Client,
        issuer: Option<String>,
        audiences: Vec<String>,
        ttl: Duration,
        skew: Duration,
    ) -> Introspector {
        Introspector {
            settings,
            client,
            issuer,
            audiences,
            ttl,
            skew,
            cache: Mutex::new(HashMap::new()),
        }
    }

    /// The access `token` grants, as the authorization server says.
    pub async fn introspect(&self, token: &str) -> Result<Access, AuthError> {
        let key: [u8; 32] = Sha256::digest(token.as_bytes()).into();
        if let Some((until, answer)) = self.cache().get(&key)
            && *until > Instant::now()
        {
            return answer.clone().map_err(AuthError::Invalid);
        }
        let res = self
            .client
            .post(&self.settings.url)
            .basic_auth(&self.settings.client_id, Some(&self.settings.client_secret))
            .form(&[("token", token), ("token_type_hint", "access_token")])
            .send()
            .await
            .and_then(reqwest::Response::error_for_status)
            .map_err(|e| AuthError::Unavailable(format!("introspection failed: {e}")))?;
        let body: serde_json::Value = res
            .json()
            .await
            .map_err(|e| AuthError::Unavailable(format!("introspection answer: {e}")))?;
        let parsed = serde_json::from_value::<Answer>(body.clone())
            .and_then(|a| Ok((a, serde_json::from_value::<Claims>(body)?)));
        let (answer, claims) =
            parsed.map_err(|e| AuthError::Unavailable(format!("introspection answer: {e}")))?;
        let exp = answer.exp;
        let checked = self.check(answer, claims);
        let mut keep = self.ttl;
        if let Some(exp) = exp {
            let left = u64::try_from(exp - now_secs()).unwrap_or(0);
            keep = keep.min(Duration::from_secs(left));
        }
        let mut cache = self.cache();
        if cache.len() >= MAX_CACHED {
            let now = Instant::now();
            cache.retain(|_, (until, _)| *until > now);
            if cache.len() >= MAX_CACHED {
                cache.clear();
            }
        }
        cache.insert(key, (Instant::now() + keep, checked.clone()));
        checked.map_err(AuthError::Invalid)
    }

    fn cache(&self) -> std::sync::MutexGuard<'_, Cache> {
        self.cache.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn check(&self, a: Answer, claims: Claims) -> Result<Access, String> {
        if !a.active {
            return Err("the token is not active".into());
        }
        let now = now_secs();
        let skew = self.skew.as_secs() as i64;
        if a.exp.is_some_and(|exp| exp + skew < now) {
            return Err("the token has expired".into());
        }
        if a.nbf.is_some_and(|nbf| nbf - skew > now) {
            return Err("the token is not valid yet".into());
        }
        if let (Some(want), Some(iss)) = (&self.issuer, &a.iss)
            && want != iss
        {
            return Err("wrong issuer".into());
        }
        if a.aud
            .as_ref()
            .is_some_and(|aud| !aud.contains_any(&self.audiences))
        {
            return Err("wrong audience".into());
        }
        claims.access().map_err(|e| e.to_string())
    }
}
