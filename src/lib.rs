//! fhir-facade: a read-only HL7 FHIR R4 REST API over an existing relational database.
//!
//! Layers, each in its own module:
//! - [`mapping`]: `mapping.toml` → a validated, typed [`mapping::Mapping`].
//! - [`request`]: URL → typed FHIR request (pure).
//! - [`plan`]: typed request + mapping → parameterized SQL per dialect (pure).
//! - [`db`]: connection pools, statement execution, row decoding (I/O).
//! - [`assemble`]: rows → FHIR JSON resources, Bundles, OperationOutcomes (pure).
//! - [`http`]: actix-web routes, content negotiation, errors.
//!
//! [`fhir`] holds the FHIR R4 definitions compiled into the binary; [`seed`] creates the
//! sample legacy database.

pub mod fhir;
pub mod seed;
