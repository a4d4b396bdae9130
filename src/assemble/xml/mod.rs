//! FHIR XML: the JSON form of a resource written as FHIR XML ([`write`](mod@write)), and read back
//! ([`read`], used by the tests as the way back to JSON; the server takes no XML bodies).
//!
//! The two forms carry the same content (FHIR R4 §2.6.2 and §2.6.3); what differs, and what
//! the [R4 definitions](crate::fhir) compiled into the binary tell:
//!
//! - the element name of a resource is its `resourceType`, in the FHIR namespace;
//! - elements come in the order of the StructureDefinition, inherited ones first (`id`, `meta`,
//!   `implicitRules`, `language`, `text`, `contained`, `extension`, `modifierExtension`, then
//!   the resource's own), recursively in data types and backbone elements;
//! - a primitive is an element with a `value` attribute; its JSON `_name` companion (`id`,
//!   `extension`) becomes the element's `id` attribute and `extension` children;
//! - `Element.id` and `Extension.url` are attributes (`representation: xmlAttr`);
//! - a repeating element is the element repeated, not an array;
//! - the narrative `div` is embedded XHTML in its own namespace;
//! - a resource inside another one (`contained`, `Bundle.entry.resource`,
//!   `Parameters.parameter.resource`) is wrapped in an element named by its type.
//!
//! ```
//! use fhir_facade::assemble::xml;
//! use serde_json::json;
//!
//! let patient = json!({"resourceType": "Patient", "birthDate": "1970-01-01", "id": "p1",
//!     "_birthDate": {"extension": [{"url": "http://example.org/x", "valueCode": "est"}]}});
//! let xml = xml::to_string(&patient, false).unwrap();
//! assert_eq!(
//!     xml,
//!     concat!(
//!         r#"<?xml version="1.0" encoding="UTF-8"?><Patient xmlns="http://hl7.org/fhir">"#,
//!         r#"<id value="p1"/><birthDate value="1970-01-01">"#,
//!         r#"<extension url="http://example.org/x"><valueCode value="est"/></extension>"#,
//!         r#"</birthDate></Patient>"#,
//!     )
//! );
//! assert_eq!(xml::read::from_str(&xml).unwrap(), patient);
//! ```

pub mod read;
pub mod write;

pub use write::{to_string, write_resource};

/// The FHIR namespace, of every element but the narrative.
pub const FHIR_NS: &str = "http://hl7.org/fhir";
/// The XHTML namespace, of the narrative `div`.
pub const XHTML_NS: &str = "http://www.w3.org/1999/xhtml";

/// Why a resource cannot be converted.
#[derive(Debug, thiserror::Error)]
pub enum XmlError {
    /// The JSON is not a FHIR resource this converter can write (an element that the
    /// definitions do not know, a value of the wrong kind). The server only writes resources
    /// it assembled, so this is a bug, reported with the element path.
    #[error("cannot write {path} as FHIR XML: {reason}")]
    Json {
        /// Where, e.g. `Patient.name.given`.
        path: String,
        /// What is wrong.
        reason: String,
    },
    /// The XML is not well-formed FHIR XML (reading).
    #[error("not FHIR XML: {0}")]
    Xml(String),
    /// Writing failed.
    #[error(transparent)]
    Io(#[from] std::io::Error),
}

#[cfg(test)]
mod tests;
