//! The issuer's public keys (a JWKS from a file or an HTTPS URL), cached: reloaded when a
//! token names an unknown `kid` and when the cache is old, never more often than the
//! configured interval (a flood of made-up `kid`s cannot turn into a flood of fetches).
//!
//! Only RSA keys (RS256) and P-256 EC keys (ES256) meant for signatures are kept; each key
//! verifies its own algorithm only, so a token cannot choose how its key is used.

use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use jsonwebtoken::jwk::{
    AlgorithmParameters, EllipticCurve, Jwk, JwkSet, KeyAlgorithm, PublicKeyUse,
};
use jsonwebtoken::{Algorithm, DecodingKey};

/// Largest JWKS document accepted.
const MAX_JWKS_BYTES: usize = 1 << 20;

/// A usable key.
#[derive(Clone)]
pub struct Key {
    /// Its `kid`.
    pub kid: Option<String>,
    /// The one algorithm it verifies.
    pub algorithm: Algorithm,
    /// The key.
    pub key: DecodingKey,
}

/// Where the keys come from.
#[derive(Debug, Clone)]
enum Location {
    File(String),
    Url(String),
}

#[derive(Default)]
struct State {
    keys: Arc<Vec<Key>>,
    loaded: Option<Instant>,
    last_refresh: Option<Instant>,
}

/// The cached JWKS.
pub struct Jwks {
    location: Location,
    client: reqwest::Client,
    min_refresh: Duration,
    max_age: Duration,
    state: RwLock<State>,
    refreshing: tokio::sync::Mutex<()>,
}

impl Jwks {
    /// Loads the keys at `location` (a path or an http(s) URL). A file must load now; a URL
    /// that cannot be reached yet is retried when a token needs it.
    pub async fn load(
        location: &str,
        client: reqwest::Client,
        min_refresh: Duration,
        max_age: Duration,
    ) -> anyhow::Result<Jwks> {
        let location = if super::settings::is_url(location) {
            Location::Url(location.to_string())
        } else {
            Location::File(location.to_string())
        };
        let jwks = Jwks {
            location,
            client,
            min_refresh,
            max_age,
            state: RwLock::new(State::default()),
            refreshing: tokio::sync::Mutex::new(()),
        };
        match jwks.fetch().await {
            Ok(keys) => jwks.store(keys, false),
            Err(e) => match &jwks.location {
                Location::File(path) => anyhow::bail!("cannot load the JWKS {path}: {e}"),
                Location::Url(url) => {
                    tracing::warn!(%url, error = %e, "cannot load the JWKS yet; tokens are refused until it loads");
                }
            },
        }
        Ok(jwks)
    }

    /// The key for a token signed with `alg` naming `kid`: reloads the keys first when it is
    /// not known (or the keys are old), as often as allowed.
    pub async fn key(&self, kid: Option<&str>, alg: Algorithm) -> Option<Key> {
        let (found, stale) = {
            let state = self.state.read().unwrap_or_else(|e| e.into_inner());
            let stale = state.loaded.is_none_or(|t| t.elapsed() >= self.max_age);
            (find(&state.keys, kid, alg), stale)
        };
        if found.is_some() && !stale {
            return found;
        }
        self.refresh().await;
        let state = self.state.read().unwrap_or_else(|e| e.into_inner());
        find(&state.keys, kid, alg)
    }

    /// Reloads the keys unless the last reload was less than the interval ago (one reload at a
    /// time; those waiting use its result). A failed reload keeps the keys known.
    async fn refresh(&self) {
        let _one = self.refreshing.lock().await;
        {
            let state = self.state.read().unwrap_or_else(|e| e.into_inner());
            if state
                .last_refresh
                .is_some_and(|t| t.elapsed() < self.min_refresh)
            {
                return;
            }
        }
        match self.fetch().await {
            Ok(keys) => self.store(keys, true),
            Err(e) => {
                tracing::warn!(error = %e, "cannot reload the JWKS");
                let mut state = self.state.write().unwrap_or_else(|e| e.into_inner());
                state.last_refresh = Some(Instant::now());
            }
        }
    }

    fn store(&self, keys: Vec<Key>, refresh: bool) {
        let mut state = self.state.write().unwrap_or_else(|e| e.into_inner());
        let now = Instant::now();
        tracing::info!(keys = keys.len(), "JWKS loaded");
        state.keys = Arc::new(keys);
        state.loaded = Some(now);
        if refresh {
            state.last_refresh = Some(now);
        }
    }

    async fn fetch(&self) -> anyhow::Result<Vec<Key>> {
        let bytes = match &self.location {
            Location::File(path) => std::fs::read(path)?,
            Location::Url(url) => {
                let res = self.client.get(url).send().await?.error_for_status()?;
                if res
                    .content_length()
                    .is_some_and(|n| n > MAX_JWKS_BYTES as u64)
                {
                    anyhow::bail!("the JWKS is larger than {MAX_JWKS_BYTES} bytes");
                }
                let bytes = res.bytes().await?;
                if bytes.len() > MAX_JWKS_BYTES {
                    anyhow::bail!("the JWKS is larger than {MAX_JWKS_BYTES} bytes");
                }
                bytes.to_vec()
            }
        };
        let set: JwkSet = serde_json::from_slice(&bytes)?;
        Ok(usable_keys(&set))
    }
}

/// The keys of `set` this server verifies with, each with its one algorithm.
pub fn usable_keys(set: &JwkSet) -> Vec<Key> {
    set.keys.iter().filter_map(usable).collect()
}

fn usable(jwk: &Jwk) -> Option<Key> {
    let algorithm = match &jwk.algorithm {
        AlgorithmParameters::RSA(_) => Algorithm::RS256,
        AlgorithmParameters::EllipticCurve(ec) if ec.curve == EllipticCurve::P256 => {
            Algorithm::ES256
        }
        _ => return None,
    };
    if jwk
        .common
        .public_key_use
        .as_ref()
        .is_some_and(|u| *u != PublicKeyUse::Signature)
    {
        return None;
    }
    // A key that names its algorithm is used for that one only.
    let named = match jwk.common.key_algorithm {
        None => None,
        Some(KeyAlgorithm::RS256) => Some(Algorithm::RS256),
        Some(KeyAlgorithm::ES256) => Some(Algorithm::ES256),
        Some(_) => return None,
    };
    if named.is_some_and(|a| a != algorithm) {
        return None;
    }
    Some(Key {
        kid: jwk.common.key_id.clone(),
        algorithm,
        key: DecodingKey::from_jwk(jwk).ok()?,
    })
}

/// The key named `kid` for `alg`; without a `kid`, the only key for `alg`.
fn find(keys: &[Key], kid: Option<&str>, alg: Algorithm) -> Option<Key> {
    match kid {
        Some(kid) => keys
            .iter()
            .find(|k| k.kid.as_deref() == Some(kid) && k.algorithm == alg)
            .cloned(),
        None => {
            let mut of_alg = keys.iter().filter(|k| k.algorithm == alg);
            match (of_alg.next(), of_alg.next()) {
                (Some(k), None) => Some(k.clone()),
                _ => None,
            }
        }
    }
}
