//! Response format negotiation: `_format`, `Accept` and `_pretty`.
//!
//! FHIR JSON and FHIR XML are produced. `_format` wins over `Accept`; among media ranges of
//! the same quality, the more specific wins (a FHIR type over plain JSON or XML, either over
//! `*/*`), then the first listed. A request that accepts neither (RDF/Turtle, another FHIR
//! version) gets 406.

use super::RequestError;

/// The syntax of a response.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Syntax {
    /// FHIR JSON.
    Json,
    /// FHIR XML.
    Xml,
}

/// The negotiated response format.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ResponseFormat {
    /// The Content-Type to answer with.
    pub content_type: &'static str,
    /// Indent the body.
    pub pretty: bool,
}

impl ResponseFormat {
    /// Compact FHIR JSON, the default.
    pub const DEFAULT: ResponseFormat = ResponseFormat {
        content_type: FHIR_JSON,
        pretty: false,
    };

    /// The syntax its content type stands for.
    pub fn syntax(&self) -> Syntax {
        if self.content_type == FHIR_XML || self.content_type == PLAIN_XML {
            Syntax::Xml
        } else {
            Syntax::Json
        }
    }
}

/// FHIR JSON.
pub const FHIR_JSON: &str = "application/fhir+json; charset=utf-8";
/// Plain JSON, for clients that ask only for it.
pub const PLAIN_JSON: &str = "application/json; charset=utf-8";
/// FHIR XML.
pub const FHIR_XML: &str = "application/fhir+xml; charset=utf-8";
/// Plain XML, for clients that ask only for it.
pub const PLAIN_XML: &str = "application/xml; charset=utf-8";

#[derive(Clone, Copy)]
enum Kind {
    FhirJson,
    Json,
    FhirXml,
    Xml,
    Any,
    Other,
}

impl Kind {
    /// The content type answered for it.
    fn content_type(self) -> Option<&'static str> {
        match self {
            Kind::FhirJson | Kind::Any => Some(FHIR_JSON),
            Kind::Json => Some(PLAIN_JSON),
            Kind::FhirXml => Some(FHIR_XML),
            Kind::Xml => Some(PLAIN_XML),
            Kind::Other => None,
        }
    }

    /// How specific it is, among media ranges of the same quality (lower wins).
    fn rank(self) -> u8 {
        match self {
            Kind::FhirJson | Kind::FhirXml => 0,
            Kind::Json | Kind::Xml => 1,
            Kind::Any | Kind::Other => 2,
        }
    }
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
        "application/fhir+xml" | "application/xml+fhir" | "xml" => Kind::FhirXml,
        "application/xml" | "text/xml" => Kind::Xml,
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
        classify(f).content_type().ok_or_else(|| {
            RequestError::NotAcceptable(format!(
                "_format={f} is not a format this server produces (use _format=json or _format=xml)"
            ))
        })?
    } else {
        match accept {
            None => FHIR_JSON,
            Some(a) if a.trim().is_empty() => FHIR_JSON,
            Some(a) => {
                let mut best: Option<(Kind, f32)> = None;
                for media in a.split(',') {
                    let q = quality(media);
                    let kind = classify(media);
                    if q <= 0.0 || kind.content_type().is_none() {
                        continue;
                    }
                    let better = match best {
                        None => true,
                        Some((b, bq)) => q > bq || (q == bq && kind.rank() < b.rank()),
                    };
                    if better {
                        best = Some((kind, q));
                    }
                }
                best.and_then(|(kind, _)| kind.content_type()).ok_or_else(|| {
                    RequestError::NotAcceptable(format!(
                        "Accept: {a} allows no format this server produces; it answers application/fhir+json and application/fhir+xml"
                    ))
                })?
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
    fn xml_variants_are_accepted() {
        let ct = |f: Option<&str>, a: Option<&str>| negotiate(f, None, a).map(|f| f.content_type);
        for format in [
            "xml",
            "XML",
            "application/fhir+xml",
            "application/fhir xml",
            "application/xml+fhir",
            "application/fhir+xml;fhirVersion=4.0",
        ] {
            assert_eq!(ct(Some(format), None), Ok(FHIR_XML), "{format}");
        }
        assert_eq!(ct(Some("application/xml"), None), Ok(PLAIN_XML));
        assert_eq!(ct(Some("text/xml"), None), Ok(PLAIN_XML));
        for accept in [
            "application/fhir+xml",
            "application/fhir+xml;q=0.9, application/json;q=0.8",
            "application/fhir+json;q=0, application/fhir+xml",
            // The more specific range wins at the same quality.
            "*/*, application/fhir+xml",
            "application/xml, application/fhir+xml",
            "application/fhir+xml; fhirVersion=4.0.1",
        ] {
            assert_eq!(ct(None, Some(accept)), Ok(FHIR_XML), "{accept}");
        }
        // Browsers ask for XML over anything else.
        assert_eq!(
            ct(
                None,
                Some("text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8")
            ),
            Ok(PLAIN_XML)
        );
        // The first listed wins between equally specific ranges.
        assert_eq!(
            ct(None, Some("application/fhir+xml, application/fhir+json")),
            Ok(FHIR_XML)
        );
        assert_eq!(
            ct(None, Some("application/fhir+json, application/fhir+xml")),
            Ok(FHIR_JSON)
        );
        // _format wins over Accept.
        assert_eq!(
            ct(Some("json"), Some("application/fhir+xml")),
            Ok(FHIR_JSON)
        );
        assert_eq!(ct(Some("xml"), Some("application/fhir+json")), Ok(FHIR_XML));
        let f = negotiate(Some("xml"), Some("true"), None).unwrap();
        assert_eq!((f.syntax(), f.pretty), (Syntax::Xml, true));
        assert_eq!(ResponseFormat::DEFAULT.syntax(), Syntax::Json);
    }

    #[test]
    fn other_formats_are_not_acceptable() {
        for format in [
            "ttl",
            "text/turtle",
            "application/fhir+turtle",
            "application/fhir+xml; fhirVersion=3.0",
            "html",
        ] {
            assert!(
                matches!(
                    negotiate(Some(format), None, None),
                    Err(RequestError::NotAcceptable(_))
                ),
                "{format}"
            );
        }
        for accept in [
            "text/turtle",
            "application/fhir+json;q=0, text/turtle",
            "application/fhir+xml; fhirVersion=3.0",
        ] {
            assert!(
                matches!(
                    negotiate(None, None, Some(accept)),
                    Err(RequestError::NotAcceptable(_))
                ),
                "{accept}"
            );
        }
        assert!(matches!(
            negotiate(None, Some("yes"), None),
            Err(RequestError::InvalidParameter(_))
        ));
    }
}
