//! Integration tests: the real server on a random port against a real database.
//! One test binary (faster to build); one module per area.

#[path = "../support/fhir_schema.rs"]
mod fhir_schema;
#[path = "../support/servers.rs"]
mod servers;

mod backends;
mod conditional;
mod errors;
mod helpers;
mod metadata;
mod read;
mod search;
mod sort_plans;
mod startup;
