//! The paging cursor: an opaque, stateless, tamper-evident token in the `next` link.
//!
//! It holds where the next page starts (the source and the last key served) and a hash of the
//! search it belongs to, signed with HMAC-SHA256. Any instance sharing the secret can serve
//! any page; a changed, truncated or foreign cursor is rejected.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{Hmac, Mac};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::RequestError;
use crate::sql::Value;

/// Where the next page starts.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Cursor {
    /// Index of the source (in mapping order) the next page starts in.
    pub source: usize,
    /// The last key served from that source (`None`: start at its first row).
    pub after: Option<Value>,
    /// The sort values of the last row served (with `_sort`), kept with their types so they
    /// bind back exactly.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub sort: Vec<Value>,
}

#[derive(Serialize, Deserialize)]
struct Payload {
    /// The cursor.
    c: Cursor,
    /// Hash of the search's normalized parameters.
    q: String,
}

/// Signs and checks cursors.
#[derive(Clone)]
pub struct CursorCodec {
    /// HMAC-SHA256 keyed with the secret (keyed once: a cursor is signed per page).
    keyed: Hmac<Sha256>,
}

fn search_hash(resource_type: &str, params: &[String]) -> String {
    let mut h = Sha256::new();
    h.update(resource_type.as_bytes());
    for p in params {
        h.update([0]);
        h.update(p.as_bytes());
    }
    hex(&h.finalize()[..12])
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

impl CursorCodec {
    /// A codec with this secret.
    pub fn new(secret: &[u8]) -> CursorCodec {
        CursorCodec {
            keyed: Hmac::<Sha256>::new_from_slice(secret).expect("HMAC takes any key"),
        }
    }

    fn mac(&self, data: &[u8]) -> Vec<u8> {
        let mut m = self.keyed.clone();
        m.update(data);
        m.finalize().into_bytes()[..16].to_vec()
    }

    /// The token for `cursor` of the search (`resource_type`, normalized `params`).
    pub fn encode(&self, cursor: &Cursor, resource_type: &str, params: &[String]) -> String {
        let payload = Payload {
            c: cursor.clone(),
            q: search_hash(resource_type, params),
        };
        let json = serde_json::to_vec(&payload).expect("cursor serializes");
        let body = URL_SAFE_NO_PAD.encode(&json);
        let sig = URL_SAFE_NO_PAD.encode(self.mac(body.as_bytes()));
        format!("{body}.{sig}")
    }

    /// The cursor in `token`, checked against the search it is used with.
    pub fn decode(
        &self,
        token: &str,
        resource_type: &str,
        params: &[String],
    ) -> Result<Cursor, RequestError> {
        let bad = || {
            RequestError::InvalidParameter(
                "the _cursor is invalid or belongs to another search; start again from the first page"
                    .to_string(),
            )
        };
        let (body, sig) = token.split_once('.').ok_or_else(bad)?;
        let sig = URL_SAFE_NO_PAD.decode(sig).map_err(|_| bad())?;
        let expected = self.mac(body.as_bytes());
        // Constant-time comparison through the MAC crate.
        let mut m = self.keyed.clone();
        m.update(body.as_bytes());
        if sig.len() != expected.len() || m.verify_truncated_left(&sig).is_err() {
            return Err(bad());
        }
        let json = URL_SAFE_NO_PAD.decode(body).map_err(|_| bad())?;
        let payload: Payload = serde_json::from_slice(&json).map_err(|_| bad())?;
        if payload.q != search_hash(resource_type, params) {
            return Err(bad());
        }
        Ok(payload.c)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursors_round_trip_and_reject_tampering() {
        let codec = CursorCodec::new(b"secret");
        let params = vec!["name=smith".to_string(), "_count=10".to_string()];
        let c = Cursor {
            source: 2,
            after: Some(Value::Int(41)),
            sort: vec![Value::Text("SMITH".into()), Value::Null],
        };
        let token = codec.encode(&c, "Patient", &params);
        assert_eq!(codec.decode(&token, "Patient", &params).unwrap(), c);
        // Another search, another secret, a changed body or signature: rejected.
        assert!(
            codec
                .decode(&token, "Patient", &["name=jones".into()])
                .is_err()
        );
        assert!(codec.decode(&token, "Observation", &params).is_err());
        assert!(
            CursorCodec::new(b"other")
                .decode(&token, "Patient", &params)
                .is_err()
        );
        let (body, sig) = token.split_once('.').unwrap();
        let forged = CursorCodec::new(b"x").encode(
            &Cursor {
                source: 0,
                after: None,
                sort: vec![],
            },
            "Patient",
            &params,
        );
        let forged_body = forged.split_once('.').unwrap().0;
        assert!(
            codec
                .decode(&format!("{forged_body}.{sig}"), "Patient", &params)
                .is_err()
        );
        assert!(
            codec
                .decode(&format!("{body}."), "Patient", &params)
                .is_err()
        );
        assert!(codec.decode("garbage", "Patient", &params).is_err());
        assert!(codec.decode("", "Patient", &params).is_err());
    }

    #[test]
    fn cursors_keep_the_format_of_earlier_releases() {
        // Cursors already in clients' next links keep working across an upgrade.
        let c = Cursor {
            source: 2,
            after: Some(Value::Int(41)),
            sort: vec![Value::Text("SMITH".into()), Value::Null],
        };
        let json = r#"{"source":2,"after":{"I":41},"sort":[{"S":"SMITH"},"N"]}"#;
        assert_eq!(serde_json::to_string(&c).unwrap(), json);
        assert_eq!(serde_json::from_str::<Cursor>(json).unwrap(), c);
        let start = r#"{"source":0,"after":null}"#;
        let c = serde_json::from_str::<Cursor>(start).unwrap();
        assert_eq!((c.source, c.after, c.sort), (0, None, vec![]));
    }
}
