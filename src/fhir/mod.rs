//! FHIR R4 definitions (element paths and types, bindings, search parameters).
