//! Response format negotiation: `_format`, `Accept` and `_pretty`.
//!
//! Only JSON is produced. `_format` wins over `Accept`. A request that accepts only XML (or
//! only other types) gets 406.

use super::RequestError;

/// The negotiated response format.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ResponseFormat {
    /// The Content-Type to answer with.
    pub content_type: &'static str,
    /// Indent the JSON.
    pub pretty: bool,
}

/// FHIR JSON.
pub const FHIR_JSON: &str = "application/fhir+json; charset=utf-8";
/// Plain JSON, for clients that ask only for it.
pub const PLAIN_JSON: &str = "application/json; charset=utf-8";

enum Kind {
    FhirJson,
    Json,
    Any,
    Xml,
    Other,
}

/// The kind of a media range or `_format` value. A `+` sent unescaped in a query string
/// arrives as a space (`_format=application/fhir+json`), so spaces inside the type are read as
/// `+`. A `fhirVersion` other than 4.0 (R4) is a format this server does not produce.
fn classify(media: &str) -> Kind {
    let mut parts = media.split(';');
    let m = parts
        .next()
        .unwrap_or("")
        .trim()
        .replace(' ', "+")
        .to_ascii_lowercase();
    let other_version = parts
        .filter_map(|p| p.split_once('='))
        .find(|(n, _)| n.trim().eq_ignore_ascii_case("fhirversion"))
        .is_some_and(|(_, v)| !is_r4(v.trim().trim_matches('"')));
    if other_version {
        return Kind::Other;
    }
    match m.as_str() {
        "application/fhir+json" | "application/json+fhir" | "json" => Kind::FhirJson,
        "application/json" | "text/json" => Kind::Json,
        "*/*" | "application/*" | "" => Kind::Any,
        "application/fhir+xml"
        | "application/xml+fhir"
        | "application/xml"
        | "text/xml"
        | "xml" => Kind::Xml,
        _ => Kind::Other,
    }
}

/// Whether a `fhirVersion` media type parameter names R4 (`4.0`, or a release such as `4.0.1`).
fn is_r4(version: &str) -> bool {
    version == "4.0" || version.starts_with("4.0.")
}

fn quality(media: &str) -> f32 {
    media
        .split(';')
        .skip(1)
        .filter_map(|p| p.trim().strip_prefix("q="))
        .find_map(|q| q.trim().parse::<f32>().ok())
        .unwrap_or(1.0)
}

/// Picks the response format from the `_format` and `_pretty` parameters and the `Accept`
/// header.
pub fn negotiate(
    format_param: Option<&str>,
    pretty_param: Option<&str>,
    accept: Option<&str>,
) -> Result<ResponseFormat, RequestError> {
    let pretty = match pretty_param {
        None => false,
        Some(p) if p.eq_ignore_ascii_case("false") => false,
        Some(p) if p.eq_ignore_ascii_case("true") => true,
        Some(other) => {
            return Err(RequestError::InvalidParameter(format!(
                "_pretty must be true or false, not '{other}'"
            )));
        }
    };
    let content_type = if let Some(f) = format_param {
        match classify(f) {
            Kind::FhirJson | Kind::Any => FHIR_JSON,
            Kind::Json => PLAIN_JSON,
            Kind::Xml => {
                return Err(RequestError::NotAcceptable(format!(
                    "_format={f} asks for XML; this server only produces JSON (use _format=json)"
                )));
            }
            Kind::Other => {
                return Err(RequestError::NotAcceptable(format!(
                    "_format={f} is not a format this server produces (use _format=json)"
                )));
            }
        }
    } else {
        match accept {
            None => FHIR_JSON,
            Some(a) if a.trim().is_empty() => FHIR_JSON,
            Some(a) => {
                let mut best: Option<(&'static str, f32)> = None;
                for media in a.split(',') {
                    let q = quality(media);
                    if q <= 0.0 {
                        continue;
                    }
                    let ct = match classify(media) {
                        Kind::FhirJson | Kind::Any => FHIR_JSON,
                        Kind::Json => PLAIN_JSON,
                        Kind::Xml | Kind::Other => continue,
                    };
                    // Prefer FHIR JSON when it is as acceptable as plain JSON.
                    let better = match best {
                        None => true,
                        Some((b, bq)) => q > bq || (q == bq && ct == FHIR_JSON && b != FHIR_JSON),
                    };
                    if better {
                        best = Some((ct, q));
                    }
                }
                match best {
                    Some((ct, _)) => ct,
                    None => {
                        return Err(RequestError::NotAcceptable(format!(
                            "Accept: {a} allows no format this server produces; it answers application/fhir+json"
                        )));
                    }
                }
            }
        }
    };
    Ok(ResponseFormat {
        content_type,
        pretty,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_variants_are_accepted() {
        assert_eq!(negotiate(None, None, None).unwrap().content_type, FHIR_JSON);
        assert_eq!(
            negotiate(Some("json"), None, None).unwrap().content_type,
            FHIR_JSON
        );
        assert_eq!(
            negotiate(Some("application/json"), None, None)
                .unwrap()
                .content_type,
            PLAIN_JSON
        );
        assert_eq!(
            negotiate(None, None, Some("application/json"))
                .unwrap()
                .content_type,
            PLAIN_JSON
        );
        assert_eq!(
            negotiate(
                None,
                None,
                Some("text/html,application/xhtml+xml,*/*;q=0.8")
            )
            .unwrap()
            .content_type,
            FHIR_JSON
        );
        assert!(negotiate(None, Some("true"), None).unwrap().pretty);
    }

    #[test]
    fn variants_mainstream_clients_send() {
        let ct = |f: Option<&str>, a: Option<&str>| negotiate(f, None, a).map(|f| f.content_type);
        for accept in [
            "application/json+fhir",
            "application/fhir+json; fhirVersion=4.0",
            "application/fhir+json;fhirVersion=4.0.1;q=0.9",
            "application/fhir+json, application/json",
            "application/fhir+json;charset=utf-8",
            "APPLICATION/FHIR+JSON",
        ] {
            assert_eq!(ct(None, Some(accept)), Ok(FHIR_JSON), "{accept}");
        }
        // A `+` not escaped in the query string arrives as a space.
        for format in [
            "application/fhir json",
            "application/fhir+json",
            "application/json+fhir",
            "JSON",
            "application/fhir+json;fhirVersion=4.0",
        ] {
            assert_eq!(ct(Some(format), None), Ok(FHIR_JSON), "{format}");
        }
        assert_eq!(ct(Some("text/json"), None), Ok(PLAIN_JSON));
        // Another FHIR version is not produced here.
        assert!(matches!(
            ct(None, Some("application/fhir+json; fhirVersion=3.0")),
            Err(RequestError::NotAcceptable(_))
        ));
        assert_eq!(
            ct(
                None,
                Some(
                    "application/fhir+json; fhirVersion=3.0, application/fhir+json; fhirVersion=4.0"
                )
            ),
            Ok(FHIR_JSON)
        );
        assert!(negotiate(None, Some("TRUE"), None).unwrap().pretty);
        assert!(!negotiate(None, Some("False"), None).unwrap().pretty);
    }

    #[test]
    fn xml_only_is_not_acceptable() {
        assert!(matches!(
            negotiate(Some("xml"), None, None),
            Err(RequestError::NotAcceptable(_))
        ));
        assert!(matches!(
            negotiate(None, None, Some("application/fhir+xml")),
            Err(RequestError::NotAcceptable(_))
        ));
        assert!(matches!(
            negotiate(
                None,
                None,
                Some("application/fhir+json;q=0, application/xml")
            ),
            Err(RequestError::NotAcceptable(_))
        ));
        // _format wins over Accept.
        assert!(negotiate(Some("json"), None, Some("application/fhir+xml")).is_ok());
        assert!(matches!(
            negotiate(None, Some("yes"), None),
            Err(RequestError::InvalidParameter(_))
        ));
    }
}
