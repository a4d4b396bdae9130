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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mapping::Mapping;
    use crate::plan::{exists, read, search};
    use crate::request::compartment::Compartment;
    use crate::request::criterion::Criterion;
    use crate::request::search::{SearchOptions, SearchRequest};
    use crate::sql::{Caps, Dialect, Statement};

    const PATIENT: &str = "4242";

    fn mapping(dialect: Dialect) -> Mapping {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/mapping.toml");
        crate::mapping::load(path, dialect).unwrap()
    }

    fn parse(m: &Mapping, query: &str) -> SearchRequest {
        let (rt, qs) = query.split_once('?').unwrap_or((query, ""));
        let params: Vec<(String, String)> =
            form_urlencoded::parse(qs.as_bytes()).into_owned().collect();
        let opts = SearchOptions {
            base_url: "http://h/fhir",
            max_count: 1000,
            max_chain_depth: 3,
            lenient: false,
            limits: Default::default(),
        };
        SearchRequest::parse(m, &opts, rt, &params).unwrap()
    }

    /// SQL with its placeholders made alike (`$3` and `?` both `?`), so that a condition
    /// written on its own can be found in a statement.
    fn normalized(sql: &str) -> String {
        let mut out = String::with_capacity(sql.len());
        let mut chars = sql.chars().peekable();
        while let Some(c) = chars.next() {
            if c == '$' && chars.peek().is_some_and(char::is_ascii_digit) {
                while chars.peek().is_some_and(char::is_ascii_digit) {
                    chars.next();
                }
                out.push('?');
            } else {
                out.push(c);
            }
        }
        out
    }

    /// The placeholders (`?` once normalized) in `sql` outside its quoted literals.
    fn placeholders(sql: &str) -> usize {
        let mut quoted = false;
        sql.chars()
            .filter(|&c| {
                if c == '\'' {
                    quoted = !quoted;
                }
                c == '?' && !quoted
            })
            .count()
    }

    /// Every statement the planner makes, for every kind of statement, planned in `scope`:
    /// read, exists, page, count, estimate, an include (ids), a revinclude (references),
    /// chains and `_has`, a compartment search, and `$everything`'s searches.
    fn every_statement(m: &Mapping, caps: &Caps, scope: &Scope) -> Vec<(String, Statement)> {
        let mut out = Vec::new();
        for (rt, id) in [
            ("Patient", "1"),
            ("Observation", "lab-1"),
            ("Practitioner", "1"),
        ] {
            let r = read(m, caps, scope, rt, id).unwrap().unwrap();
            out.push((format!("read {rt}/{id}"), r.statement));
            let e = exists(m, caps, scope, rt, id).unwrap().unwrap();
            out.push((format!("exists {rt}/{id}"), e));
        }
        let mut searches: Vec<(String, SearchRequest)> = [
            "Patient?family=smi&_total=accurate",
            "Observation?code=http://loinc.org|2339-0&_total=estimate&_sort=-status",
            "Encounter?_summary=count",
            "Practitioner?name=w",
            "Observation?subject:Patient.name=smi&encounter.service-provider.name=card",
            "Patient?_has:Observation:patient:code=http://loinc.org|2339-0",
            "Practitioner?_has:Encounter:practitioner:_has:Observation:encounter:code=x",
            "MedicationRequest?requester:identifier=http://hl7.org/fhir/sid/us-npi|1",
        ]
        .into_iter()
        .map(|q| (q.to_string(), parse(m, q)))
        .collect();
        // What `_include` and `_revinclude` read.
        let mut include = SearchRequest::new("Practitioner", 10);
        include.criteria.push(Criterion::ids(["1", "2"]));
        searches.push(("_include".into(), include));
        let mut revinclude = SearchRequest::new("Observation", 10);
        let refs = [("Patient", "1"), ("Patient", "2")];
        revinclude
            .criteria
            .push(Criterion::references("patient", refs));
        searches.push(("_revinclude".into(), revinclude));
        // Compartment searches, as `Patient/[id]/[type]` and `$everything` run them.
        for rt in crate::request::compartment::patient_types(m) {
            let mut req = SearchRequest::new(&rt, 10);
            req.compartment = Some(Compartment::patient(m, "1", &rt).unwrap());
            searches.push((format!("Patient/1/{rt}"), req));
        }
        for (name, req) in &searches {
            let plan = search(m, caps, scope, req, None).unwrap();
            out.push((format!("page {name}"), plan.page.statement));
            for t in plan.totals {
                out.push((format!("count {name}"), t.count));
                out.extend(t.estimate.map(|e| (format!("estimate {name}"), e)));
            }
        }
        out
    }

    /// Checks that every source `stmt` reads is followed by the scope's condition on it (the
    /// same SQL, binding the same values), and that it reads at least one; the problems found.
    fn unscoped_reads(m: &Mapping, caps: &Caps, scope: &Scope, stmt: &Statement) -> Vec<String> {
        let sql = normalized(&stmt.sql);
        let mut problems = Vec::new();
        let mut reads = 0;
        for source in &m.sources {
            let mut from = SqlWriter::new(caps.dialect);
            crate::mapping::sql::write_from(&mut from, source);
            let from = normalized(&from.finish().sql);
            let cx = Context {
                mapping: m,
                caps,
                scope,
                source,
            };
            let mut condition = SqlWriter::new(caps.dialect);
            write(&mut condition, &cx).unwrap();
            let condition = condition.finish();
            let text = normalized(&condition.sql);
            assert!(!text.is_empty() || scope.is_none());
            for (at, _) in sql.match_indices(&from) {
                reads += 1;
                let end = at + from.len();
                let first = placeholders(&sql[..end]);
                let bound = stmt.params.get(first..first + condition.params.len());
                if !sql[end..].starts_with(&text) || bound != Some(&condition.params[..]) {
                    problems.push(format!("{} is read without its scope", source.name));
                }
            }
        }
        if reads == 0 {
            problems.push("no source read".into());
        }
        problems
    }

    #[test]
    fn every_statement_carries_the_scope() {
        let scope = Scope::patients(vec![PATIENT.to_string()]);
        for dialect in Dialect::ALL {
            let m = mapping(dialect);
            let caps = Caps::of(dialect);
            let statements = every_statement(&m, &caps, &scope);
            assert!(
                statements.iter().any(|(k, _)| k.starts_with("estimate"))
                    || dialect == Dialect::Sqlite
            );
            for (kind, stmt) in &statements {
                let problems = unscoped_reads(&m, &caps, &scope, stmt);
                assert!(
                    problems.is_empty(),
                    "{dialect} {kind}: {problems:?}\n{}",
                    stmt.sql
                );
                // The patient is bound, never written into the SQL.
                assert!(!stmt.sql.contains(PATIENT), "{kind}: {}", stmt.sql);
            }
        }
    }

    #[test]
    fn the_check_finds_a_statement_without_the_scope() {
        let m = mapping(Dialect::Sqlite);
        let caps = Caps::of(Dialect::Sqlite);
        let scope = Scope::patients(vec![PATIENT.to_string()]);
        // The same statements planned without the scope fail the check.
        for (kind, stmt) in every_statement(&m, &caps, Scope::none()) {
            let problems = unscoped_reads(&m, &caps, &scope, &stmt);
            assert!(!problems.is_empty(), "{kind}: {}", stmt.sql);
        }
    }

    #[test]
    fn types_outside_the_compartment_have_nothing_in_scope() {
        let m = mapping(Dialect::Sqlite);
        let caps = Caps::of(Dialect::Sqlite);
        let scope = Scope::patients(vec![PATIENT.to_string()]);
        let r = read(&m, &caps, &scope, "Practitioner", "1")
            .unwrap()
            .unwrap();
        assert!(
            r.statement.sql.contains(" AND 1=0 AND "),
            "{}",
            r.statement.sql
        );
        let r = read(&m, &caps, &scope, "Patient", "1").unwrap().unwrap();
        assert!(
            r.statement
                .sql
                .contains(" AND ((PATIENT.\"PAT_ID\" = ?)) AND "),
            "{}",
            r.statement.sql
        );
        // No scope: no condition.
        let plain = read(&m, &caps, Scope::none(), "Patient", "1")
            .unwrap()
            .unwrap();
        assert!(
            !plain
                .statement
                .params
                .contains(&sea_query::Value::from(PATIENT))
        );
    }
}
