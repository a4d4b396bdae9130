//! The Patient compartment (`GET [base]/Patient/[id]/[type]`, `$everything`): which mapped
//! types are in it and through which of their declared parameters. Pure.
//!
//! Membership follows the Patient CompartmentDefinition of FHIR R4: a resource is in the
//! compartment of `Patient/123` when one of the type's compartment parameters refers to it.
//! Only parameters the mapping declares as references to Patient count.

use super::RequestError;
use super::criterion::Criterion;
use crate::mapping::Mapping;

/// The canonical URL of the Patient CompartmentDefinition.
pub const PATIENT_COMPARTMENT: &str = "http://hl7.org/fhir/CompartmentDefinition/patient";

/// A compartment a search is restricted to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Compartment {
    /// The compartment's patient id.
    pub id: String,
    /// The searched type's parameters that place a resource in the compartment.
    pub params: Vec<String>,
    /// Whether the searched type is Patient itself (the patient is in its own compartment).
    pub is_patient: bool,
}

/// The parameters of `resource_type` through which it is in the Patient compartment, as the
/// mapping declares them (reference parameters that can refer to Patient).
pub fn patient_params(mapping: &Mapping, resource_type: &str) -> Vec<String> {
    let Some(params) = crate::fhir::Definitions::r4().patient_compartment_params(resource_type)
    else {
        return Vec::new();
    };
    params
        .iter()
        .filter(|p| {
            mapping
                .reference_types(resource_type, p)
                .iter()
                .any(|t| t == "Patient")
        })
        .cloned()
        .collect()
}

/// The mapped types in the Patient compartment, in mapping order (Patient itself first).
pub fn patient_types(mapping: &Mapping) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    if mapping.has_type("Patient") {
        out.push("Patient".into());
    }
    for t in mapping.resource_types() {
        if t != "Patient" && !patient_params(mapping, t).is_empty() {
            out.push(t.to_string());
        }
    }
    out
}

/// A mapped type FHIR places in the Patient compartment that none of its declared parameters
/// places there: compartment searches and `$everything` cannot reach it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unreachable {
    /// The type.
    pub resource_type: String,
    /// Its compartment parameters in the R4 CompartmentDefinition.
    pub params: Vec<String>,
    /// Declared parameters of the type that refer to Patient all the same (e.g. `patient`
    /// where the definition says `subject`), which the advice mentions.
    pub via: Vec<String>,
}

impl Unreachable {
    /// What the mapping author should do about it.
    pub fn advice(&self) -> String {
        let t = &self.resource_type;
        let params = self.params.join(" or ");
        let which = if self.params.len() == 1 {
            "it"
        } else {
            "any of them"
        };
        let via = match self.via.first() {
            Some(v) => format!(
                " ('{v}' refers to Patient too, but the compartment is defined through {params})"
            ),
            None => String::new(),
        };
        format!(
            "{t} is in the Patient compartment through {params}, but the mapping does not declare {which} as a reference to Patient, so Patient/[id]/{t} and $everything cannot reach it: declare `{} = true` under [resource.search] of {t}{via}",
            self.params[0]
        )
    }
}

/// The mapped types FHIR places in the Patient compartment that no declared parameter places
/// there, in mapping order.
pub fn unreachable_types(mapping: &Mapping) -> Vec<Unreachable> {
    let defs = crate::fhir::Definitions::r4();
    mapping
        .resource_types()
        .filter(|t| *t != "Patient" && patient_params(mapping, t).is_empty())
        .filter_map(|t| {
            let params = defs.patient_compartment_params(t)?;
            if params.is_empty() {
                return None;
            }
            let mut via: Vec<String> = mapping
                .sources_of(t)
                .flat_map(|s| &s.search)
                .map(|d| d.code.clone())
                .filter(|p| mapping.reference_types(t, p).iter().any(|x| x == "Patient"))
                .collect();
            via.sort();
            via.dedup();
            Some(Unreachable {
                resource_type: t.to_string(),
                params: params.to_vec(),
                via,
            })
        })
        .collect()
}

impl Compartment {
    /// The compartment of `Patient/id` for a search of `resource_type`.
    pub fn patient(
        mapping: &Mapping,
        id: &str,
        resource_type: &str,
    ) -> Result<Compartment, RequestError> {
        super::read::check_type(mapping, "Patient")?;
        super::read::check_type(mapping, resource_type)?;
        let id = super::FhirId::parse(id)?.to_string();
        let params = patient_params(mapping, resource_type);
        let is_patient = resource_type == "Patient";
        if params.is_empty() && !is_patient {
            return Err(RequestError::InvalidParameter(
                match unreachable_types(mapping)
                    .into_iter()
                    .find(|u| u.resource_type == resource_type)
                {
                    Some(u) => u.advice(),
                    None => format!("{resource_type} is not in the Patient compartment"),
                },
            ));
        }
        Ok(Compartment {
            id,
            params,
            is_patient,
        })
    }

    /// The criterion for membership: any compartment parameter refers to the patient (or, for
    /// Patient, it is the patient).
    pub fn criterion(&self) -> Option<Criterion> {
        let mut all = Vec::new();
        if self.is_patient {
            all.push(Criterion::ids([self.id.as_str()]));
        }
        for p in &self.params {
            all.push(Criterion::references(p, [("Patient", self.id.as_str())]));
        }
        Criterion::any(all)
    }
}

/// Resources of `resource_type` in the Patient compartment of any of `patients`: `None` when
/// the type is neither Patient nor in the compartment through a parameter the mapping declares
/// (no resource of it is in any patient's compartment).
pub fn membership(
    mapping: &Mapping,
    resource_type: &str,
    patients: &[String],
) -> Option<Criterion> {
    let mut all = Vec::new();
    if resource_type == "Patient" {
        all.push(Criterion::ids(patients.iter().map(String::as_str)));
    }
    for p in patient_params(mapping, resource_type) {
        let targets = patients.iter().map(|id| ("Patient", id.as_str()));
        all.push(Criterion::references(&p, targets));
    }
    Criterion::any(all)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mapping::sample;

    #[test]
    fn membership_follows_the_definition_and_the_mapping() {
        let m = sample();
        assert_eq!(
            patient_types(&m),
            [
                "Patient",
                "Encounter",
                "Condition",
                "Observation",
                "MedicationRequest"
            ]
        );
        // Observation's compartment parameters are subject and performer; performer refers
        // to practitioners here, so only subject counts.
        assert_eq!(patient_params(&m, "Observation"), ["subject"]);
        assert_eq!(patient_params(&m, "Condition"), ["patient"]);
        assert!(patient_params(&m, "Practitioner").is_empty());
        let c = Compartment::patient(&m, "7", "Observation").unwrap();
        let f = c.criterion().unwrap();
        assert_eq!((f.code.as_str(), f.alternatives.len()), ("subject", 0));
        assert_eq!(f, Criterion::references("subject", [("Patient", "7")]));
        let p = Compartment::patient(&m, "7", "Patient")
            .unwrap()
            .criterion();
        assert_eq!(p, Some(Criterion::ids(["7"])));
        // Several patients: any of them; types outside the compartment have no membership.
        let two = ["7".to_string(), "9".to_string()];
        assert_eq!(
            membership(&m, "Observation", &two),
            Some(Criterion::references(
                "subject",
                [("Patient", "7"), ("Patient", "9")]
            ))
        );
        assert_eq!(membership(&m, "Practitioner", &two), None);
        assert!(Compartment::patient(&m, "7", "Practitioner").is_err());
        assert!(Compartment::patient(&m, "a b", "Observation").is_err());
        assert_eq!(unreachable_types(&m), []);
    }

    #[test]
    fn types_declared_only_through_other_parameters_are_named_with_advice() {
        // Observation and MedicationRequest reach the patient through `patient` only (the R4
        // compartment parameter is `subject`).
        let text =
            std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/mapping.toml")).unwrap();
        let at = text.find("type = \"Observation\"").unwrap();
        let text = format!(
            "{}{}",
            &text[..at],
            text[at..].replace("\nsubject = true", "")
        );
        let m = crate::mapping::parse("m.toml", &text, crate::sql::Dialect::Sqlite).unwrap();
        let u = unreachable_types(&m);
        let names: Vec<&str> = u.iter().map(|u| u.resource_type.as_str()).collect();
        assert_eq!(names, ["Observation", "MedicationRequest"]);
        assert_eq!(u[0].params, ["subject", "performer"]);
        assert_eq!(u[0].via, ["patient"]);
        let advice = u[0].advice();
        assert!(
            advice.contains("does not declare any of them")
                && advice
                    .contains("declare `subject = true` under [resource.search] of Observation")
                && advice.contains("'patient' refers to Patient too"),
            "{advice}"
        );
        assert!(
            u[1].advice()
                .contains("through subject, but the mapping does not declare it")
        );
        assert_eq!(patient_types(&m), ["Patient", "Encounter", "Condition"]);
        let e = Compartment::patient(&m, "7", "MedicationRequest").unwrap_err();
        assert_eq!(e.to_string(), u[1].advice());
    }
}
