//! fhir-facade: a read-only HL7 FHIR R4 REST API over an existing relational database.
//!
//! Layers, each in its own module, each importing only those below it:
//! - [`http`]: actix-web routes, one module per interaction: extract → parse → call → respond;
//!   authentication and audit per request with [`auth`] (SMART on FHIR: tokens → scopes →
//!   the [`plan::Scope`] every statement carries).
//! - [`check`]: a mapping checked against FHIR and the live database, every problem at once
//!   (start-up and the `check` command).
//! - [`service`]: the FHIR service independent of HTTP ([`service::Fhir`]): plan → execute →
//!   assemble, per interaction.
//! - [`plan`]: typed request + mapping → parameterized SQL per dialect (pure), one entry point
//!   per interaction, every statement carrying the request's [`plan::Scope`].
//! - [`request`]: URL → typed FHIR request, search values parsed once (pure).
//! - [`search`]: search semantics, one module per parameter type: parsing, modifiers,
//!   predicate writers (pure).
//! - [`assemble`]: rows → FHIR JSON resources, Bundles, OperationOutcomes,
//!   CapabilityStatement (pure).
//! - [`mapping`]: `mapping.toml` → a validated, typed [`mapping::Mapping`]; its SQL fragments;
//!   its check against the live database.
//! - [`db`]: connection pools, statement execution, row decoding (I/O).
//! - [`sql`]: the bottom layer: dialects (one method per SQL difference), statements, values.
//!
//! [`tools`] holds the operator's commands (`check`, `explain`, `scaffold`) as library
//! functions.
//! [`export`] runs Bulk Data `$export` jobs in the background over the service, writing NDJSON
//! files through `object_store`.
//! [`admin`] serves metrics and the console on the admin address.
//!
//! [`fhir`] holds the FHIR R4 definitions compiled into the binary; [`seed`] creates the
//! sample legacy database; [`startup`] wires the server from [`config`]; [`memory`] gives
//! freed memory back to the system after bursts.

pub mod fhir;
pub mod seed;

pub mod admin;
pub mod assemble;
pub mod auth;
pub mod check;
pub mod config;
pub mod db;
pub mod export;
pub mod http;
pub mod mapping;
pub mod memory;
pub mod plan;
pub mod request;
pub mod search;
pub mod service;
pub mod sql;
pub mod startup;
pub mod telemetry;
pub mod tools;
