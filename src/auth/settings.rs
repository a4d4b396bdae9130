//! The authorization settings (`--auth` and its companions), checked at start-up.

use std::time::Duration;

/// How requests are authorized.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, clap::ValueEnum)]
pub enum AuthMode {
    /// No authorization: every client that reaches the port reads everything (local use).
    #[default]
    None,
    /// SMART on FHIR: every request needs a bearer access token, and sees what its scopes
    /// allow.
    Smart,
}

/// Client credentials for RFC 7662 token introspection.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IntrospectionSettings {
    /// The introspection endpoint.
    pub url: String,
    /// This server's client id at the authorization server.
    pub client_id: String,
    /// Its client secret.
    pub client_secret: String,
}

/// Everything about authorization and browser access.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuthSettings {
    /// `none` or `smart`.
    pub mode: AuthMode,
    /// The authorization server that issues the JWT access tokens (`iss`).
    pub issuer: Option<String>,
    /// Accepted `aud` values (empty: the server's base URL).
    pub audiences: Vec<String>,
    /// JWKS with the issuer's public keys: a file path or an HTTPS URL.
    pub jwks: Option<String>,
    /// Shared secret for HS256 tokens (development only).
    pub hs256_secret: Option<String>,
    /// Token introspection for opaque tokens.
    pub introspection: Option<IntrospectionSettings>,
    /// The authorization endpoint (advertised for discovery).
    pub authorize_url: Option<String>,
    /// The token endpoint (advertised for discovery).
    pub token_url: Option<String>,
    /// Clock skew allowed on `exp` and `nbf`.
    pub clock_skew: Duration,
    /// Least time between two JWKS reloads (on an unknown `kid`).
    pub jwks_min_refresh: Duration,
    /// JWKS older than this are reloaded (so removed keys stop being trusted).
    pub jwks_max_age: Duration,
    /// How long an introspection answer is reused.
    pub introspection_cache: Duration,
    /// Origins allowed to call the API from a browser (`*`: any); none: no CORS.
    pub cors_origins: Vec<String>,
}

impl Default for AuthSettings {
    fn default() -> AuthSettings {
        AuthSettings {
            mode: AuthMode::None,
            issuer: None,
            audiences: Vec::new(),
            jwks: None,
            hs256_secret: None,
            introspection: None,
            authorize_url: None,
            token_url: None,
            clock_skew: Duration::from_secs(30),
            jwks_min_refresh: Duration::from_secs(10),
            jwks_max_age: Duration::from_secs(600),
            introspection_cache: Duration::from_secs(30),
            cors_origins: Vec::new(),
        }
    }
}

/// Shortest HS256 secret accepted (RFC 7518 §3.2: a key of at least 256 bits).
pub const MIN_HS256_SECRET: usize = 32;

impl AuthSettings {
    /// Checks that the settings fit together; the problem otherwise.
    pub fn check(&self) -> Result<(), String> {
        if let Some(o) = self
            .cors_origins
            .iter()
            .find(|o| *o != "*" && !is_origin(o))
        {
            return Err(format!(
                "--cors-origin takes an origin such as https://app.example.org (or *), not '{o}'"
            ));
        }
        let smart_only = [
            ("--issuer", self.issuer.is_some()),
            ("--audience", !self.audiences.is_empty()),
            ("--jwks", self.jwks.is_some()),
            ("--hs256-secret", self.hs256_secret.is_some()),
            ("--introspection-url", self.introspection.is_some()),
            ("--authorize-url", self.authorize_url.is_some()),
            ("--token-url", self.token_url.is_some()),
        ];
        if self.mode == AuthMode::None {
            if let Some((name, _)) = smart_only.iter().find(|(_, set)| *set) {
                return Err(format!(
                    "{name} is set but --auth is none, which would serve everything to everyone: add --auth smart"
                ));
            }
            return Ok(());
        }
        if self.jwks.is_none() && self.hs256_secret.is_none() && self.introspection.is_none() {
            return Err(
                "--auth smart needs a way to check tokens: --jwks, --introspection-url or (for development) --hs256-secret"
                    .into(),
            );
        }
        if (self.jwks.is_some() || self.hs256_secret.is_some()) && self.issuer.is_none() {
            return Err("--jwks and --hs256-secret need --issuer (the tokens' iss)".into());
        }
        if let Some(s) = &self.hs256_secret
            && s.len() < MIN_HS256_SECRET
        {
            return Err(format!(
                "--hs256-secret must be at least {MIN_HS256_SECRET} bytes long"
            ));
        }
        if let Some(j) = &self.jwks
            && is_url(j)
        {
            check_url("--jwks", j)?;
        }
        if let Some(i) = &self.introspection {
            check_url("--introspection-url", &i.url)?;
            if i.client_id.is_empty() || i.client_secret.is_empty() {
                return Err(
                    "--introspection-url needs --introspection-client-id and --introspection-client-secret"
                        .into(),
                );
            }
        }
        for (name, url) in [
            ("--issuer", &self.issuer),
            ("--authorize-url", &self.authorize_url),
            ("--token-url", &self.token_url),
        ] {
            if let Some(u) = url
                && !is_url(u)
            {
                return Err(format!("{name} must be an http(s) URL, not '{u}'"));
            }
        }
        Ok(())
    }

    /// Whether tokens are required.
    pub fn is_smart(&self) -> bool {
        self.mode == AuthMode::Smart
    }
}

/// Whether `s` is an http(s) URL (else a JWKS source is a file path).
pub fn is_url(s: &str) -> bool {
    s.starts_with("https://") || s.starts_with("http://")
}

/// Whether `o` is a web origin: `http(s)://host[:port]`, nothing after.
fn is_origin(o: &str) -> bool {
    let rest = o
        .strip_prefix("https://")
        .or_else(|| o.strip_prefix("http://"));
    rest.is_some_and(|r| {
        !r.is_empty()
            && r.chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | ':' | '[' | ']'))
    })
}

/// Keys and token checks travel over HTTPS; plain HTTP only to this machine.
fn check_url(name: &str, url: &str) -> Result<(), String> {
    if url.starts_with("https://") {
        return Ok(());
    }
    let host = url
        .strip_prefix("http://")
        .and_then(|rest| rest.split(['/', '?']).next())
        .unwrap_or_default();
    let host = match host.rsplit_once(':') {
        Some((h, port)) if port.chars().all(|c| c.is_ascii_digit()) => h,
        _ => host,
    };
    let loopback = host == "localhost"
        || host
            .trim_start_matches('[')
            .trim_end_matches(']')
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback());
    if loopback {
        Ok(())
    } else {
        Err(format!(
            "{name} must be an https:// URL (plain http only to localhost), not '{url}'"
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn smart() -> AuthSettings {
        AuthSettings {
            mode: AuthMode::Smart,
            issuer: Some("https://auth.example.org".into()),
            jwks: Some("https://auth.example.org/jwks".into()),
            ..AuthSettings::default()
        }
    }

    #[test]
    fn settings_are_checked() {
        assert_eq!(AuthSettings::default().check(), Ok(()));
        assert_eq!(smart().check(), Ok(()));
        // Smart options without --auth smart would silently serve everything.
        let e = AuthSettings {
            mode: AuthMode::None,
            ..smart()
        };
        assert!(e.check().unwrap_err().contains("--issuer"));
        let nothing = AuthSettings {
            jwks: None,
            ..smart()
        };
        assert!(nothing.check().unwrap_err().contains("needs a way"));
        let no_issuer = AuthSettings {
            issuer: None,
            ..smart()
        };
        assert!(no_issuer.check().is_err());
        let short = AuthSettings {
            hs256_secret: Some("short".into()),
            ..smart()
        };
        assert!(short.check().unwrap_err().contains("32 bytes"));
        for (url, ok) in [
            ("https://x.example/jwks", true),
            ("http://127.0.0.1:9999/jwks", true),
            ("http://localhost/jwks", true),
            ("http://[::1]:80/jwks", true),
            ("http://auth.example.org/jwks", false),
            ("http://10.0.0.1/jwks", false),
        ] {
            let s = AuthSettings {
                jwks: Some(url.into()),
                ..smart()
            };
            assert_eq!(s.check().is_ok(), ok, "{url}");
        }
        // A file path is fine.
        let file = AuthSettings {
            jwks: Some("keys/jwks.json".into()),
            ..smart()
        };
        assert_eq!(file.check(), Ok(()));
        let introspect = AuthSettings {
            introspection: Some(IntrospectionSettings {
                url: "https://auth.example.org/introspect".into(),
                client_id: "facade".into(),
                client_secret: String::new(),
            }),
            ..smart()
        };
        assert!(introspect.check().unwrap_err().contains("client-secret"));
        for (origin, ok) in [
            ("https://app.example.org", true),
            ("http://localhost:3000", true),
            ("*", true),
            ("app.example.org", false),
            ("https://app.example.org/", false),
            ("https://app.example.org/path", false),
        ] {
            let s = AuthSettings {
                cors_origins: vec![origin.into()],
                ..AuthSettings::default()
            };
            assert_eq!(s.check().is_ok(), ok, "{origin}");
        }
    }
}
