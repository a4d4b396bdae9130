//! The scope of a request: conditions that every statement it runs must carry, whatever it
//! reads — the page, the count and estimate, a read by id, the existence check of
//! `$everything`, included resources, and every source a chain or `_has` crosses. They are
//! written by [`super::context::write_from`], the one way the planner reads a source, so no
//! statement can leave them out.
//!
//! To start with, a scope restricts to the Patient compartments of some patients (what a
//! patient-context access token allows): a resource is in scope when it is in the compartment
//! of one of them (the patient itself, or a resource whose compartment parameter refers to
//! one of them, as the mapping declares them). A resource type that is not in the Patient
//! compartment has nothing in scope: it is never served unrestricted.

use super::PlanError;
use super::context::Context;
use super::criteria::write_criterion;
use crate::request::compartment::membership;
use crate::sql::SqlWriter;

/// Conditions every statement of a request carries.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Scope {
    /// Each restriction must hold.
    pub compartments: Vec<PatientCompartments>,
}

/// Only resources in the Patient compartment of one of these patients.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PatientCompartments {
    /// The patients' logical ids.
    pub patients: Vec<String>,
}

static NONE: Scope = Scope {
    compartments: Vec::new(),
};

impl Scope {
    /// No restriction.
    pub fn none() -> &'static Scope {
        &NONE
    }

    /// Only the compartments of `patients`.
    pub fn patients(patients: Vec<String>) -> Scope {
        Scope {
            compartments: vec![PatientCompartments { patients }],
        }
    }

    /// Whether nothing is restricted.
    pub fn is_none(&self) -> bool {
        self.compartments.is_empty()
    }
}

/// ` AND <condition>` for each restriction of the scope, on `cx.source`.
pub(super) fn write(w: &mut SqlWriter, cx: &Context) -> Result<(), PlanError> {
    let plain = cx.unscoped();
    for c in &cx.scope.compartments {
        w.push(" AND ");
        match membership(cx.mapping, &cx.source.resource_type, &c.patients) {
            Some(criterion) => write_criterion(w, &plain, &criterion)?,
            None => {
                w.push("1=0");
            }
        }
    }
    Ok(())
}
