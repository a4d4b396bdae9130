//! Assembly: rows → FHIR JSON resources, Bundles, OperationOutcomes and the
//! CapabilityStatement; FHIR JSON → FHIR XML ([`xml`]). Pure, no I/O.

pub mod body;
pub mod bundle;
pub mod capability;
pub mod compact;
pub mod convert;
pub mod outcome;
pub mod resource;
pub mod served;
pub mod shaped;
pub mod subset;
pub mod tree;
pub mod xml;

#[cfg(test)]
mod same_json;
