//! fhir-facade: a read-only HL7 FHIR R4 REST API over an existing relational database.
//!
//! Layers, each in its own module:
//! - [`mapping`]: `mapping.toml` → a validated, typed [`mapping::Mapping`].
//! - [`request`]: URL → typed FHIR request (pure).
//! - [`plan`]: typed request + mapping → parameterized SQL per dialect (pure).
//! - [`search`]: search semantics (prefixes, date and number ranges) shared by every dialect.
//! - [`db`]: connection pools, statement execution, row decoding (I/O).
//! - [`assemble`]: rows → FHIR JSON resources, Bundles, OperationOutcomes (pure).
//! - [`service`]: interactions orchestrated (plan → execute → assemble).
//! - [`http`]: actix-web routes, content negotiation, errors.
//!
//! [`fhir`] holds the FHIR R4 definitions compiled into the binary; [`seed`] creates the
//! sample legacy database.

pub mod fhir;
pub mod seed;

pub mod assemble;
pub mod config;
pub mod db;
pub mod http;
pub mod mapping;
pub mod plan;
pub mod request;
pub mod search;
pub mod service;
pub mod sql;
pub mod startup;
pub mod telemetry;
