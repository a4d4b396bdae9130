//! Integration tests over the clinic sample (`tests/fixtures/clinic/`): an EHR schema of MySQL
//! heritage with its legacy warts, loaded on SQLite, PostgreSQL and MariaDB and served through
//! `tests/fixtures/clinic/mapping.toml`. Expected ids come from SQL written in the tests over
//! the SQLite copy. One test binary; one module per area.

#[path = "../support/clinic.rs"]
mod clinic;
#[path = "../support/fhir_schema.rs"]
mod fhir_schema;
#[path = "../support/fhir_xml.rs"]
mod fhir_xml;
#[path = "../support/servers.rs"]
mod servers;

mod app;
mod booleans;
mod codes;
mod dates;
mod load;
mod numbers;
mod read;
mod references;
mod sort;
mod startup;
mod telecom;
mod values;
mod xml;
