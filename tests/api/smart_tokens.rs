//! SMART mode, the tokens: every kind of bad token refused alike (401, `WWW-Authenticate`,
//! an OperationOutcome that says no more), keys from a real issuer over HTTP (rotation, reloads
//! rate-limited), opaque tokens through introspection (cached), the open discovery documents,
//! CORS, and one audit event per request without the token.

use std::io::Write;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use serde_json::{Value, json};

use crate::helpers::{TestApp, backends};
use crate::issuer::{
    HS256_SECRET, Issuer, KEYS, now, sign_hs256, smart_settings, spawn_smart, unsigned,
};

/// GET `path` with `authorization` (none when `None`): status, `WWW-Authenticate`, body.
async fn get_as(app: &TestApp, path: &str, authorization: Option<&str>) -> (u16, String, Value) {
    let mut req = app.client.get(format!("{}/{path}", app.base));
    if let Some(a) = authorization {
        req = req.header("authorization", a);
    }
    let res = req.send().await.unwrap();
    let status = res.status().as_u16();
    let challenge = res
        .headers()
        .get("www-authenticate")
        .map(|v| v.to_str().unwrap().to_string())
        .unwrap_or_default();
    (status, challenge, res.json().await.unwrap_or(Value::Null))
}

/// Asserts that `token` is refused as an invalid token, saying nothing more.
async fn refused(app: &TestApp, what: &str, token: &str) {
    let (status, challenge, body) =
        get_as(app, "Patient/1", Some(&format!("Bearer {token}"))).await;
    assert_eq!(status, 401, "{}: {what}: {body}", app.dialect);
    assert!(
        challenge.starts_with("Bearer") && challenge.contains("error=\"invalid_token\""),
        "{what}: {challenge}"
    );
    assert_eq!(body["resourceType"], "OperationOutcome", "{what}");
    assert_eq!(body["issue"][0]["code"], "login", "{what}");
    assert_eq!(
        body["issue"][0]["diagnostics"], "the access token is not valid",
        "{what}"
    );
}

#[tokio::test]
async fn bad_tokens_of_every_kind_are_refused() {
    for backend in backends() {
        let issuer = Issuer::start().await;
        let app = spawn_smart(backend, smart_settings(&issuer)).await;
        let aud = app.base.clone();
        let scope = "patient/*.rs";
        let claims = issuer.claims(&aud, scope, Some("1"));
        // The good ones: RS256, ES256 and (development) HS256 tokens.
        for (what, token) in [
            ("RS256", issuer.token(&aud, scope, Some("1"))),
            ("ES256", issuer.sign(&KEYS.ec, &claims)),
            ("HS256", sign_hs256(HS256_SECRET.as_bytes(), None, &claims)),
        ] {
            let (status, _, body) =
                get_as(&app, "Patient/1", Some(&format!("Bearer {token}"))).await;
            assert_eq!(status, 200, "{}: {what}: {body}", app.dialect);
            assert_eq!(body["id"], "1");
        }
        let with = |changes: Value| {
            let mut c = claims.clone();
            for (k, v) in changes.as_object().unwrap() {
                if v.is_null() {
                    c.as_object_mut().unwrap().remove(k);
                } else {
                    c[k] = v.clone();
                }
            }
            issuer.sign(&KEYS.rsa, &c)
        };
        let bad = [
            ("expired", with(json!({"exp": now() - 120}))),
            ("not yet valid", with(json!({"nbf": now() + 120}))),
            ("without exp", with(json!({"exp": null}))),
            (
                "wrong audience",
                with(json!({"aud": "https://other.example.org/fhir"})),
            ),
            ("without audience", with(json!({"aud": null}))),
            (
                "wrong issuer",
                with(json!({"iss": "https://evil.example.org"})),
            ),
            ("without issuer", with(json!({"iss": null}))),
            ("patient not an id", with(json!({"patient": "1 OR 1=1"}))),
            ("wrong key", issuer.sign(&KEYS.rogue, &claims)),
            ("alg none", unsigned(&claims)),
            (
                "HS256 with the RS256 public key",
                sign_hs256(&KEYS.rsa.public_der, Some("rsa-1"), &claims),
            ),
            (
                "HS256 with the EC public key",
                sign_hs256(&KEYS.ec.public_der, Some("ec-1"), &claims),
            ),
            (
                "HS256 with another secret",
                sign_hs256(b"another-secret-of-at-least-32-bytes!", None, &claims),
            ),
            ("malformed", "not-a-token".to_string()),
            ("three garbage parts", "a.b.c".to_string()),
            ("two parts", "eyJhbGciOiJSUzI1NiJ9.e30".to_string()),
            (
                "unknown opaque token",
                "opaque-token-nobody-issued".to_string(),
            ),
        ];
        // The signature of a good token on other claims.
        let good = issuer.token(&aud, scope, Some("1"));
        let forged = {
            let parts: Vec<&str> = good.split('.').collect();
            let other = with(json!({"patient": "2"}));
            let other: Vec<&str> = other.split('.').collect();
            format!("{}.{}.{}", parts[0], other[1], parts[2])
        };
        refused(&app, "claims changed after signing", &forged).await;
        for (what, token) in &bad {
            refused(&app, what, token).await;
        }
        // No token at all: 401 with a bare challenge (RFC 6750 §3.1), as with another scheme.
        for auth in [None, Some("Basic dXNlcjpwdw=="), Some("Bearer ")] {
            let (status, challenge, body) = get_as(&app, "Patient/1", auth).await;
            assert_eq!(status, 401, "{auth:?}: {body}");
            assert_eq!(challenge, "Bearer", "{auth:?}");
            assert_eq!(body["issue"][0]["code"], "login");
        }
        // A good token without the scope for the type: 403, insufficient_scope.
        let good = format!("Bearer {}", issuer.token(&aud, scope, Some("1")));
        let (status, challenge, body) = get_as(&app, "Practitioner/1", Some(&good)).await;
        assert_eq!(status, 403, "{body}");
        assert!(
            challenge.contains("error=\"insufficient_scope\""),
            "{challenge}"
        );
        assert_eq!(body["issue"][0]["code"], "forbidden");
        // Both in XML when the request asks for XML (the 401 is answered before any handler).
        for (path, auth, status, code) in [
            ("Patient/1?_format=xml", None, 401, "login"),
            (
                "Practitioner/1?_format=xml",
                Some(good.as_str()),
                403,
                "forbidden",
            ),
        ] {
            let mut req = app.client.get(format!("{}/{path}", app.base));
            if let Some(a) = auth {
                req = req.header("authorization", a);
            }
            let res = req.send().await.unwrap();
            assert_eq!(res.status(), status, "{path}");
            let ct = res.headers()["content-type"].to_str().unwrap().to_owned();
            assert!(ct.starts_with("application/fhir+xml"), "{path}: {ct}");
            let outcome = fhir_facade::assemble::xml::read::from_str(&res.text().await.unwrap())
                .unwrap_or_else(|e| panic!("{path}: {e}"));
            assert_eq!(outcome["issue"][0]["code"], code, "{path}");
        }
        // Searches and unknown paths need a token too; metadata and discovery do not.
        for path in ["Observation?code=x", "Nope/1", "Patient/1/$everything"] {
            assert_eq!(get_as(&app, path, None).await.0, 401, "{path}");
        }
        for path in ["metadata", ".well-known/smart-configuration"] {
            assert_eq!(get_as(&app, path, None).await.0, 200, "{path}");
        }
        // Nor do the health checks (outside the FHIR base).
        let root = app.base.trim_end_matches("/fhir");
        for path in ["health/live", "health/ready"] {
            let res = app
                .client
                .get(format!("{root}/{path}"))
                .send()
                .await
                .unwrap();
            assert_eq!(res.status().as_u16(), 200, "{path}");
        }
    }
}

/// The status of `Patient/1` read with `token`.
async fn read_with(app: &TestApp, token: String) -> u16 {
    get_as(app, "Patient/1", Some(&format!("Bearer {token}")))
        .await
        .0
}

#[tokio::test]
async fn keys_come_from_the_issuer_and_rotate() {
    for backend in backends() {
        let issuer = Issuer::start().await;
        let mut settings = smart_settings(&issuer);
        settings.hs256_secret = None;
        settings.introspection = None;
        // Long enough that nothing in this test waits for it.
        settings.jwks_min_refresh = Duration::from_secs(120);
        let app = spawn_smart(backend, settings.clone()).await;
        let claims = issuer.claims(&app.base, "patient/Patient.r", Some("1"));
        assert_eq!(issuer.jwks_hits(), 1, "loaded at start-up");
        assert_eq!(read_with(&app, issuer.sign(&KEYS.rsa, &claims)).await, 200);
        assert_eq!(issuer.jwks_hits(), 1, "cached");
        // The issuer rotates: the new kid is fetched once, the old key is gone.
        issuer.publish(&[&KEYS.rsa_next]);
        assert_eq!(
            read_with(&app, issuer.sign(&KEYS.rsa_next, &claims)).await,
            200
        );
        assert_eq!(issuer.jwks_hits(), 2);
        assert_eq!(
            read_with(&app, issuer.sign(&KEYS.rsa_next, &claims)).await,
            200
        );
        // Unknown kids do not make the server fetch again within the interval.
        assert_eq!(read_with(&app, issuer.sign(&KEYS.rsa, &claims)).await, 401);
        let mut made_up = KEYS.rsa_next.clone();
        for i in 0..10 {
            made_up.kid = format!("made-up-{i}");
            assert_eq!(read_with(&app, issuer.sign(&made_up, &claims)).await, 401);
        }
        assert_eq!(issuer.jwks_hits(), 2, "reloads are rate-limited");
        // With a short interval: an unknown kid reloads (once), and again after the interval.
        settings.jwks_min_refresh = Duration::from_millis(200);
        let quick = spawn_smart(backend, settings).await;
        let claims = issuer.claims(&quick.base, "patient/Patient.r", Some("1"));
        assert_eq!(issuer.jwks_hits(), 3, "loaded at start-up");
        assert_eq!(
            read_with(&quick, issuer.sign(&KEYS.rsa, &claims)).await,
            401
        );
        assert_eq!(issuer.jwks_hits(), 4);
        issuer.publish(&[&KEYS.rsa, &KEYS.rsa_next]);
        tokio::time::sleep(Duration::from_millis(300)).await;
        assert_eq!(
            read_with(&quick, issuer.sign(&KEYS.rsa, &claims)).await,
            200
        );
        assert_eq!(issuer.jwks_hits(), 5);
    }
}

#[tokio::test]
async fn keys_can_come_from_a_file() {
    let backend = &backends()[0];
    let issuer = Issuer::start().await;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("jwks.json");
    let set = jsonwebtoken::jwk::JwkSet {
        keys: vec![KEYS.rsa.jwk.clone()],
    };
    std::fs::write(&path, serde_json::to_vec(&set).unwrap()).unwrap();
    let mut settings = smart_settings(&issuer);
    settings.jwks = Some(path.display().to_string());
    settings.hs256_secret = None;
    settings.introspection = None;
    let app = spawn_smart(backend, settings.clone()).await;
    let claims = issuer.claims(&app.base, "patient/Patient.r", Some("1"));
    assert_eq!(read_with(&app, issuer.sign(&KEYS.rsa, &claims)).await, 200);
    assert_eq!(read_with(&app, issuer.sign(&KEYS.ec, &claims)).await, 401);
    assert_eq!(issuer.jwks_hits(), 0);
    // A JWKS file that cannot be read stops the start-up.
    settings.jwks = Some(dir.path().join("missing.json").display().to_string());
    let mut s = crate::helpers::settings(&backend.url, crate::helpers::MAPPING);
    s.auth = settings;
    let e = fhir_facade::startup::Application::build(s)
        .await
        .err()
        .unwrap();
    assert!(format!("{e:#}").contains("cannot load the JWKS"), "{e:#}");
}

#[tokio::test]
async fn opaque_tokens_are_introspected_and_cached() {
    for backend in backends() {
        let issuer = Issuer::start().await;
        let app = spawn_smart(backend, smart_settings(&issuer)).await;
        let answer = |extra: Value| {
            let mut a = json!({
                "active": true,
                "scope": "openid patient/Patient.rs",
                "patient": "1",
                "sub": "someone",
                "client_id": "opaque-app",
                "exp": now() + 300,
                "iss": issuer.url,
                "aud": app.base,
            });
            for (k, v) in extra.as_object().unwrap() {
                a[k] = v.clone();
            }
            a
        };
        issuer.register_opaque("good-opaque", answer(json!({})));
        issuer.register_opaque("inactive", json!({"active": false}));
        issuer.register_opaque("expired", answer(json!({"exp": now() - 120})));
        issuer.register_opaque("elsewhere", answer(json!({"aud": "https://other.example"})));
        issuer.register_opaque(
            "other-issuer",
            answer(json!({"iss": "https://evil.example"})),
        );
        let good = app.with_token("good-opaque");
        assert_eq!(good.get("Patient/1").await.0, 200);
        assert_eq!(issuer.introspect_hits(), 1);
        // Reused: no second introspection; the scope still applies.
        assert_eq!(good.get("Patient/2").await.0, 404);
        assert_eq!(good.get("Observation").await.0, 403);
        assert_eq!(issuer.introspect_hits(), 1);
        for t in ["inactive", "expired", "elsewhere", "other-issuer"] {
            refused(&app, t, t).await;
        }
    }
}

#[tokio::test]
async fn discovery_documents_describe_the_authorization_server() {
    let backend = &backends()[0];
    let issuer = Issuer::start().await;
    let app = spawn_smart(backend, smart_settings(&issuer)).await;
    let (status, _, conf) = get_as(&app, ".well-known/smart-configuration", None).await;
    assert_eq!(status, 200);
    assert_eq!(conf["issuer"], issuer.url);
    assert_eq!(conf["jwks_uri"], format!("{}/jwks", issuer.url));
    assert_eq!(
        conf["authorization_endpoint"],
        format!("{}/authorize", issuer.url)
    );
    assert_eq!(conf["token_endpoint"], format!("{}/token", issuer.url));
    assert_eq!(
        conf["introspection_endpoint"],
        format!("{}/introspect", issuer.url)
    );
    assert_eq!(
        conf["capabilities"],
        json!([
            "permission-v1",
            "permission-v2",
            "permission-patient",
            "permission-user"
        ])
    );
    let (_, _, cs) = get_as(&app, "metadata", None).await;
    crate::fhir_schema::assert_valid(&cs);
    let security = &cs["rest"][0]["security"];
    assert_eq!(security["cors"], true);
    assert_eq!(security["service"][0]["coding"][0]["code"], "SMART-on-FHIR");
    let uris = &security["extension"][0];
    assert_eq!(
        uris["url"],
        "http://fhir-registry.smarthealthit.org/StructureDefinition/oauth-uris"
    );
    let find = |name: &str| {
        uris["extension"]
            .as_array()
            .unwrap()
            .iter()
            .find(|e| e["url"] == name)
            .map(|e| e["valueUri"].clone())
    };
    assert_eq!(
        find("authorize"),
        Some(json!(format!("{}/authorize", issuer.url)))
    );
    assert_eq!(find("token"), Some(json!(format!("{}/token", issuer.url))));
    // Without authorization there is no SMART configuration and no security section.
    let plain = crate::helpers::spawn_app_on(backend).await;
    assert_eq!(plain.get(".well-known/smart-configuration").await.0, 404);
    assert!(
        plain.get("metadata").await.1["rest"][0]
            .get("security")
            .is_none()
    );
}

#[tokio::test]
async fn browsers_of_allowed_origins_may_call() {
    let backend = &backends()[0];
    let issuer = Issuer::start().await;
    let app = spawn_smart(backend, smart_settings(&issuer)).await;
    let preflight = |origin: &'static str| {
        app.client
            .request(reqwest::Method::OPTIONS, format!("{}/Patient/1", app.base))
            .header("origin", origin)
            .header("access-control-request-method", "GET")
            .header("access-control-request-headers", "authorization")
            .send()
    };
    let ok = preflight("https://app.example.org").await.unwrap();
    assert!(ok.status().is_success(), "{}", ok.status());
    assert_eq!(
        ok.headers()["access-control-allow-origin"],
        "https://app.example.org"
    );
    let allowed = ok.headers()["access-control-allow-headers"]
        .to_str()
        .unwrap()
        .to_ascii_lowercase();
    assert!(allowed.contains("authorization"), "{allowed}");
    let other = preflight("https://evil.example.org").await.unwrap();
    assert!(other.headers().get("access-control-allow-origin").is_none());
    // A refusal is readable by the app too (the header and the challenge).
    let res = app
        .client
        .get(format!("{}/Patient/1", app.base))
        .header("origin", "https://app.example.org")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 401);
    assert_eq!(
        res.headers()["access-control-allow-origin"],
        "https://app.example.org"
    );
    let exposed = res.headers()["access-control-expose-headers"]
        .to_str()
        .unwrap()
        .to_ascii_lowercase();
    assert!(exposed.contains("www-authenticate"), "{exposed}");
}

/// Everything the server logs in this test binary (installed once, at info level).
fn captured() -> &'static Arc<Mutex<Vec<u8>>> {
    static LOG: OnceLock<Arc<Mutex<Vec<u8>>>> = OnceLock::new();
    LOG.get_or_init(|| {
        let buf = Arc::new(Mutex::new(Vec::new()));
        let writer = Capture(buf.clone());
        let subscriber = tracing_subscriber::fmt()
            .with_env_filter("audit=info,fhir_facade::startup=warn")
            .with_ansi(false)
            .with_writer(move || writer.clone())
            .finish();
        tracing::subscriber::set_global_default(subscriber).expect("one subscriber");
        buf
    })
}

#[derive(Clone)]
struct Capture(Arc<Mutex<Vec<u8>>>);

impl Write for Capture {
    fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(b);
        Ok(b.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// The captured audit lines that mention `needle`.
fn audit_lines(needle: &str) -> Vec<String> {
    let log = captured().lock().unwrap();
    String::from_utf8_lossy(&log)
        .lines()
        .filter(|l| l.contains("audit") && l.contains(needle))
        .map(str::to_string)
        .collect()
}

#[tokio::test]
async fn every_request_leaves_one_audit_event_without_the_token() {
    captured();
    let backend = &backends()[0];
    let issuer = Issuer::start().await;
    let app = spawn_smart(backend, smart_settings(&issuer)).await;
    let sub = format!("auditor-{}", now());
    let mut claims = issuer.claims(&app.base, "patient/*.rs", Some("1"));
    claims["sub"] = json!(sub);
    let token = issuer.sign(&KEYS.rsa, &claims);
    let client = app.with_token(&token);
    assert_eq!(client.get("Patient/1").await.0, 200);
    let (status, bundle) = client.get("Encounter?_count=3").await;
    assert_eq!(status, 200);
    let returned = bundle["entry"].as_array().map_or(0, Vec::len);
    assert_eq!(client.get("Practitioner/1").await.0, 403);
    assert_eq!(client.get("Patient/2").await.0, 404);
    let lines = audit_lines(&format!("sub=\"{sub}\""));
    assert_eq!(lines.len(), 4, "{lines:#?}");
    let search_count = format!("count={returned}");
    let expect = [
        ("read", "allowed", "count=1", "Patient"),
        ("search-type", "allowed", search_count.as_str(), "Encounter"),
        ("read", "403", "count=0", "Practitioner"),
        ("read", "404", "count=0", "Patient"),
    ];
    for (line, (interaction, outcome, count, types)) in lines.iter().zip(expect) {
        for part in [
            format!("interaction=\"{interaction}\""),
            format!("outcome=\"{outcome}\""),
            count.to_string(),
            format!("types=\"{types}\""),
            "client_id=\"test-app\"".to_string(),
            "patient=\"1\"".to_string(),
        ] {
            assert!(line.contains(&part), "{part} in {line}");
        }
    }
    // A refused token is audited too (without who: the token is not trusted).
    let bad = format!("{token}x");
    let probe = format!("Patient/probe-{}", now());
    assert_eq!(app.with_token(&bad).get(&probe).await.0, 401);
    let lines = audit_lines(&format!("path=/fhir/{probe}"));
    assert_eq!(lines.len(), 1, "{lines:#?}");
    assert!(lines[0].contains("outcome=\"401\"") && lines[0].contains("sub=\"-\""));
    let log = String::from_utf8_lossy(&captured().lock().unwrap()).to_string();
    // The token never appears in the log.
    let signature = token.rsplit('.').next().unwrap();
    assert!(!log.contains(signature));
}

#[tokio::test]
async fn without_authorization_the_server_warns_when_others_can_reach_it() {
    captured();
    let backend = &backends()[0];
    let mut open = crate::helpers::settings(&backend.url, crate::helpers::MAPPING);
    open.listen = "0.0.0.0:0".into();
    let exposed = crate::helpers::spawn_with(backend, open).await;
    let port = exposed
        .base
        .rsplit(':')
        .next()
        .unwrap()
        .split('/')
        .next()
        .unwrap();
    let local = crate::helpers::spawn_app_on(backend).await;
    let local_port = local
        .base
        .rsplit(':')
        .next()
        .unwrap()
        .split('/')
        .next()
        .unwrap();
    let log = String::from_utf8_lossy(&captured().lock().unwrap()).to_string();
    assert!(
        log.contains(&format!("--auth none while listening on 0.0.0.0:{port}")),
        "{log}"
    );
    assert!(!log.contains(&format!("listening on 127.0.0.1:{local_port}")));
}
