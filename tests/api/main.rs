//! Integration tests: the real server on a random port against a real database.
//! One test binary (faster to build); one module per area.

#[path = "../support/extra_mapping.rs"]
mod extra_mapping;
#[path = "../support/fhir_schema.rs"]
mod fhir_schema;
#[path = "../support/fhir_xml.rs"]
mod fhir_xml;
#[path = "../support/servers.rs"]
mod servers;

mod accents;
mod backends;
mod chain_plans;
mod char_plans;
mod collation;
mod conditional;
mod crossref;
mod errors;
mod exhaustion;
mod expect;
mod export;
mod expressions;
mod handling;
mod helpers;
mod hostile;
mod include;
mod index_order;
mod injection;
mod issuer;
mod key_types;
mod lookup_plans;
mod metadata;
mod moto;
mod pg_types;
mod plans;
mod read;
mod read_one;
mod search;
mod search_uri_composite;
mod smart_patients;
mod smart_tokens;
mod sort_plans;
mod startup;
mod summary;
mod totals;
mod xml;
