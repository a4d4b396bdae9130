//! A real (small) OAuth issuer for the authorization tests, on a random port: it signs access
//! tokens with RSA (RS256) and P-256 (ES256) keys generated here, serves its JWKS over HTTP
//! (keys can be rotated), answers RFC 7662 introspection for opaque tokens it registered, and
//! counts the requests it gets. Also: starting the server in SMART mode against it.

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, LazyLock, Mutex};
use std::time::Duration;

use actix_web::{App, HttpRequest, HttpResponse, HttpServer, web};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::jwk::{Jwk, JwkSet};
use jsonwebtoken::{Algorithm, EncodingKey, Header, encode};
use rsa::Generate;
use rsa::pkcs1::EncodeRsaPrivateKey;
use rsa::pkcs8::EncodePublicKey;
use serde_json::{Value, json};

use fhir_facade::auth::AuthSettings;
use fhir_facade::auth::settings::{AuthMode, IntrospectionSettings};

use crate::helpers::{Backend, TestApp, settings, spawn_with};

/// The introspection client of the server under test.
pub const CLIENT_ID: &str = "fhir-facade";
/// Its secret.
pub const CLIENT_SECRET: &str = "introspection-secret";
/// The development HS256 secret.
pub const HS256_SECRET: &str = "development-secret-of-at-least-32-bytes";

/// A signing key and its public JWK.
#[derive(Clone)]
pub struct SigningKey {
    /// Its `kid`.
    pub kid: String,
    /// What it signs with.
    pub alg: Algorithm,
    encoding: EncodingKey,
    /// The public key as a JWK (with the kid).
    pub jwk: Jwk,
    /// The public key's DER (SubjectPublicKeyInfo), for algorithm-confusion attacks.
    pub public_der: Vec<u8>,
}

fn rsa_key(kid: &str) -> SigningKey {
    let private = rsa::PrivateKey::generate();
    let der = private.to_pkcs1_der().unwrap();
    let encoding = EncodingKey::from_rsa_der(der.as_bytes());
    let public_der = private
        .to_public_key()
        .to_public_key_der()
        .unwrap()
        .as_bytes()
        .to_vec();
    key(kid, Algorithm::RS256, encoding, public_der)
}

fn ec_key(kid: &str) -> SigningKey {
    use p256::pkcs8::EncodePrivateKey;
    let secret = p256::SecretKey::generate();
    let der = secret.to_pkcs8_der().unwrap();
    let encoding = EncodingKey::from_ec_der(der.as_bytes());
    let public_der = secret
        .public_key()
        .to_public_key_der()
        .unwrap()
        .as_bytes()
        .to_vec();
    key(kid, Algorithm::ES256, encoding, public_der)
}

fn key(kid: &str, alg: Algorithm, encoding: EncodingKey, public_der: Vec<u8>) -> SigningKey {
    let mut jwk = Jwk::from_encoding_key(&encoding, alg).unwrap();
    jwk.common.key_id = Some(kid.to_string());
    SigningKey {
        kid: kid.to_string(),
        alg,
        encoding,
        jwk,
        public_der,
    }
}

/// Keys generated once per test run (RSA generation takes a moment).
pub struct Keys {
    /// The issuer's RSA key.
    pub rsa: SigningKey,
    /// The key it rotates to.
    pub rsa_next: SigningKey,
    /// Its EC key.
    pub ec: SigningKey,
    /// A key nobody trusts (an attacker's), given the same `kid` as `rsa`.
    pub rogue: SigningKey,
}

/// The test keys.
pub static KEYS: LazyLock<Keys> = LazyLock::new(|| {
    let mut rogue = rsa_key("rsa-1");
    rogue.jwk.common.key_id = Some("rsa-1".into());
    Keys {
        rsa: rsa_key("rsa-1"),
        rsa_next: rsa_key("rsa-2"),
        ec: ec_key("ec-1"),
        rogue,
    }
});

#[derive(Default)]
struct State {
    published: Mutex<Vec<Jwk>>,
    opaque: Mutex<HashMap<String, Value>>,
    jwks_hits: AtomicUsize,
    introspect_hits: AtomicUsize,
}

/// A running test issuer.
pub struct Issuer {
    /// `http://127.0.0.1:PORT` (the tokens' `iss`).
    pub url: String,
    state: Arc<State>,
}

async fn jwks(state: web::Data<Arc<State>>) -> HttpResponse {
    state.jwks_hits.fetch_add(1, Ordering::SeqCst);
    let keys = state.published.lock().unwrap().clone();
    HttpResponse::Ok().json(JwkSet { keys })
}

async fn introspect(
    req: HttpRequest,
    form: web::Form<HashMap<String, String>>,
    state: web::Data<Arc<State>>,
) -> HttpResponse {
    state.introspect_hits.fetch_add(1, Ordering::SeqCst);
    let expected = format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(format!("{CLIENT_ID}:{CLIENT_SECRET}"))
    );
    let auth = req
        .headers()
        .get("authorization")
        .and_then(|v| v.to_str().ok());
    if auth != Some(expected.as_str()) {
        return HttpResponse::Unauthorized().finish();
    }
    let token = form.get("token").cloned().unwrap_or_default();
    let answer = state.opaque.lock().unwrap().get(&token).cloned();
    HttpResponse::Ok().json(answer.unwrap_or_else(|| json!({"active": false})))
}

/// Seconds since the epoch.
pub fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

impl Issuer {
    /// Starts an issuer publishing the RSA and EC keys.
    pub async fn start() -> Issuer {
        let state = Arc::new(State::default());
        *state.published.lock().unwrap() = vec![KEYS.rsa.jwk.clone(), KEYS.ec.jwk.clone()];
        let data = web::Data::new(state.clone());
        let server = HttpServer::new(move || {
            App::new()
                .app_data(data.clone())
                .route("/jwks", web::get().to(jwks))
                .route("/introspect", web::post().to(introspect))
        })
        .workers(1)
        .bind("127.0.0.1:0")
        .unwrap();
        let port = server.addrs()[0].port();
        tokio::spawn(server.run());
        Issuer {
            url: format!("http://127.0.0.1:{port}"),
            state,
        }
    }

    /// Publishes exactly `keys` from now on.
    pub fn publish(&self, keys: &[&SigningKey]) {
        *self.state.published.lock().unwrap() = keys.iter().map(|k| k.jwk.clone()).collect();
    }

    /// How many times the JWKS was fetched.
    pub fn jwks_hits(&self) -> usize {
        self.state.jwks_hits.load(Ordering::SeqCst)
    }

    /// How many introspection requests came.
    pub fn introspect_hits(&self) -> usize {
        self.state.introspect_hits.load(Ordering::SeqCst)
    }

    /// Registers an opaque token whose introspection answers `answer`.
    pub fn register_opaque(&self, token: &str, answer: Value) {
        self.state
            .opaque
            .lock()
            .unwrap()
            .insert(token.to_string(), answer);
    }

    /// Claims of a valid token for `audience`: issued now, valid five minutes.
    pub fn claims(&self, audience: &str, scope: &str, patient: Option<&str>) -> Value {
        let mut c = json!({
            "iss": self.url,
            "aud": audience,
            "sub": "user-1",
            "client_id": "test-app",
            "iat": now(),
            "nbf": now() - 5,
            "exp": now() + 300,
            "scope": scope,
        });
        if let Some(p) = patient {
            c["patient"] = json!(p);
        }
        c
    }

    /// `claims` signed with `key`.
    pub fn sign(&self, key: &SigningKey, claims: &Value) -> String {
        let mut header = Header::new(key.alg);
        header.kid = Some(key.kid.clone());
        encode(&header, claims, &key.encoding).unwrap()
    }

    /// A valid RS256 token.
    pub fn token(&self, audience: &str, scope: &str, patient: Option<&str>) -> String {
        self.sign(&KEYS.rsa, &self.claims(audience, scope, patient))
    }
}

/// `claims` signed with HS256 and `secret` (with `kid` in the header when given).
pub fn sign_hs256(secret: &[u8], kid: Option<&str>, claims: &Value) -> String {
    let mut header = Header::new(Algorithm::HS256);
    header.kid = kid.map(str::to_string);
    encode(&header, claims, &EncodingKey::from_secret(secret).unwrap()).unwrap()
}

/// An unsigned token (`alg: none`).
pub fn unsigned(claims: &Value) -> String {
    let header = URL_SAFE_NO_PAD.encode(br#"{"alg":"none","typ":"JWT"}"#);
    let body = URL_SAFE_NO_PAD.encode(claims.to_string());
    format!("{header}.{body}.")
}

/// The SMART settings of a server trusting `issuer` (JWKS, introspection, development HS256).
pub fn smart_settings(issuer: &Issuer) -> AuthSettings {
    AuthSettings {
        mode: AuthMode::Smart,
        issuer: Some(issuer.url.clone()),
        jwks: Some(format!("{}/jwks", issuer.url)),
        hs256_secret: Some(HS256_SECRET.into()),
        introspection: Some(IntrospectionSettings {
            url: format!("{}/introspect", issuer.url),
            client_id: CLIENT_ID.into(),
            client_secret: CLIENT_SECRET.into(),
        }),
        authorize_url: Some(format!("{}/authorize", issuer.url)),
        token_url: Some(format!("{}/token", issuer.url)),
        jwks_min_refresh: Duration::from_secs(2),
        cors_origins: vec!["https://app.example.org".into()],
        ..AuthSettings::default()
    }
}

/// The server over `backend` in SMART mode with `auth`.
pub async fn spawn_smart(backend: &Backend, auth: AuthSettings) -> TestApp {
    let mut s = settings(&backend.url, crate::helpers::MAPPING);
    s.auth = auth;
    spawn_with(backend, s).await
}

impl TestApp {
    /// The same server, every request sent with `Authorization: Bearer <token>`.
    pub fn with_token(&self, token: &str) -> TestApp {
        let mut headers = reqwest::header::HeaderMap::new();
        headers.insert(
            reqwest::header::AUTHORIZATION,
            format!("Bearer {token}").parse().unwrap(),
        );
        TestApp {
            dialect: self.dialect,
            base: self.base.clone(),
            client: crate::helpers::client(reqwest::Client::builder().default_headers(headers)),
            db: self.db.clone(),
        }
    }
}
