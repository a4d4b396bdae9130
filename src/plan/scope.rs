//! The scope of a request: conditions that every statement it runs must carry, whatever it
//! reads — the page, the count and estimate, a read by id, the existence check of
//! `$everything`, included resources, and every source a chain or `_has` crosses. They are
//! written by [`super::context::write_from`], the one way the planner reads a source, so no
//! statement can leave them out.
//!
//! A scope is either unrestricted ([`Scope::none`]: no authorization) or a list of [`Rule`]s
//! (what an access token allows, see `crate::auth`): a resource is in scope when one rule of its
//! type allows it, and a type without rules has nothing in scope. A rule can restrict to the
//! Patient compartments of some patients (a patient-context token: the patient itself, or a
//! resource whose compartment parameter refers to one of them, as the mapping declares them)
//! and to resources matching criteria (a SMART v2 granular scope's query). A type that is not
//! in the Patient compartment has nothing in a patient rule: it is never served unrestricted.

use super::PlanError;
use super::context::Context;
use super::criteria::write_criterion;
use crate::request::compartment::membership;
use crate::request::criterion::Criterion;
use crate::sql::SqlWriter;

/// Conditions every statement of a request carries.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Scope {
    /// `None`: nothing is restricted; otherwise only what one of the rules allows.
    rules: Option<Vec<Rule>>,
}

/// What a scope allows of one resource type: the resources that meet every condition of the
/// rule (all of them when it has none).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rule {
    /// The type the rule applies to.
    pub resource_type: String,
    /// Only resources in the Patient compartment of one of these patients (`None`: no such
    /// restriction).
    pub patients: Option<Vec<String>>,
    /// Criteria that must all hold (on the type itself: no chains or `_has`).
    pub criteria: Vec<Criterion>,
}

impl Rule {
    /// Every resource of `resource_type`.
    pub fn all(resource_type: &str) -> Rule {
        Rule {
            resource_type: resource_type.to_string(),
            patients: None,
            criteria: Vec::new(),
        }
    }

    /// The resources of `resource_type` in the compartment of one of `patients`.
    pub fn patients(resource_type: &str, patients: Vec<String>) -> Rule {
        Rule {
            patients: Some(patients),
            ..Rule::all(resource_type)
        }
    }

    /// Whether the rule allows every resource of its type.
    pub fn is_unrestricted(&self) -> bool {
        self.patients.is_none() && self.criteria.is_empty()
    }
}

static NONE: Scope = Scope { rules: None };

impl Scope {
    /// No restriction.
    pub fn none() -> &'static Scope {
        &NONE
    }

    /// Only what one of `rules` allows (nothing when there is none).
    pub fn rules(rules: Vec<Rule>) -> Scope {
        Scope { rules: Some(rules) }
    }

    /// Only the compartments of `patients`, for every type of `types`.
    pub fn patients<'t>(types: impl IntoIterator<Item = &'t str>, patients: Vec<String>) -> Scope {
        Scope::rules(
            types
                .into_iter()
                .map(|t| Rule::patients(t, patients.clone()))
                .collect(),
        )
    }

    /// Whether nothing is restricted.
    pub fn is_none(&self) -> bool {
        self.rules.is_none()
    }

    /// The rules of `resource_type` (none when nothing is restricted).
    pub fn rules_for<'s>(&'s self, resource_type: &'s str) -> impl Iterator<Item = &'s Rule> {
        self.rules
            .iter()
            .flatten()
            .filter(move |r| r.resource_type == resource_type)
    }

    /// Whether some resources of `resource_type` may be out of scope.
    pub fn restricts(&self, resource_type: &str) -> bool {
        !self.is_none() && !self.rules_for(resource_type).any(Rule::is_unrestricted)
    }
}

/// ` AND <condition>` when the scope restricts `cx.source`'s type: `1=0` when no rule allows
/// any of it, else the rules ORed, each its conditions ANDed.
pub(super) fn write(w: &mut SqlWriter, cx: &Context) -> Result<(), PlanError> {
    let resource_type = cx.source.resource_type.as_str();
    if !cx.scope.restricts(resource_type) {
        return Ok(());
    }
    let rules: Vec<&Rule> = cx.scope.rules_for(resource_type).collect();
    w.push(" AND ");
    if rules.is_empty() {
        w.push("1=0");
        return Ok(());
    }
    // The rules' own criteria are written without the scope (they have no hops to scope).
    let plain = cx.unscoped();
    w.push("(");
    for (i, rule) in rules.iter().enumerate() {
        if i > 0 {
            w.push(" OR ");
        }
        w.push("(");
        let mut first = true;
        if let Some(patients) = &rule.patients {
            match membership(cx.mapping, resource_type, patients) {
                Some(criterion) if !patients.is_empty() => write_criterion(w, &plain, &criterion)?,
                _ => {
                    w.push("1=0");
                }
            }
            first = false;
        }
        for c in &rule.criteria {
            if !c.hops.is_empty() {
                return Err(PlanError::Unsupported(
                    "a scope's criteria cannot cross resources".into(),
                ));
            }
            if !first {
                w.push(" AND ");
            }
            first = false;
            write_criterion(w, &plain, c)?;
        }
        w.push(")");
    }
    w.push(")");
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
                subqueries: None,
            };
            let mut condition = SqlWriter::new(caps.dialect);
            write(&mut condition, &cx).unwrap();
            let condition = condition.finish();
            let text = normalized(&condition.sql);
            assert_eq!(
                text.is_empty(),
                !scope.restricts(&source.resource_type),
                "{}",
                source.name
            );
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

    /// The criteria of `query` on `resource_type` (a granular scope's query).
    fn criteria(m: &Mapping, resource_type: &str, query: &str) -> Vec<Criterion> {
        parse(m, &format!("{resource_type}?{query}")).criteria
    }

    /// Scopes that restrict every type: a patient's compartment; the same with granular
    /// criteria (two rules ORed for Observation, a user-level rule with criteria for
    /// Practitioner); and mixed patient and unrestricted rules with types left out.
    fn scopes(m: &Mapping) -> Vec<(&'static str, Scope)> {
        let patient = || vec![PATIENT.to_string()];
        let mut granular = Vec::new();
        for t in m.resource_types() {
            match t {
                "Observation" => {
                    for q in ["category=laboratory", "code=http://loinc.org|8867-4"] {
                        granular.push(Rule {
                            criteria: criteria(m, t, q),
                            ..Rule::patients(t, patient())
                        });
                    }
                }
                "Practitioner" => granular.push(Rule {
                    criteria: criteria(m, t, "name=w&_lastUpdated=ge2000-01-01"),
                    ..Rule::all(t)
                }),
                _ => granular.push(Rule::patients(t, patient())),
            }
        }
        let mixed = vec![
            Rule::all("Observation"),
            Rule::patients("Patient", patient()),
            Rule::patients("Condition", patient()),
            Rule::all("Organization"),
        ];
        vec![
            ("patient", Scope::patients(m.resource_types(), patient())),
            ("granular", Scope::rules(granular)),
            ("mixed", Scope::rules(mixed)),
        ]
    }

    #[test]
    fn every_statement_carries_the_scope() {
        for dialect in Dialect::ALL {
            let m = mapping(dialect);
            let caps = Caps::of(dialect);
            for (name, scope) in scopes(&m) {
                let statements = every_statement(&m, &caps, &scope);
                // Under a scope, totals are counted, never estimated.
                assert!(!statements.iter().any(|(k, _)| k.starts_with("estimate")));
                for (kind, stmt) in &statements {
                    let problems = unscoped_reads(&m, &caps, &scope, stmt);
                    assert!(
                        problems.is_empty(),
                        "{dialect} {name} {kind}: {problems:?}\n{}",
                        stmt.sql
                    );
                    // The patient is bound, never written into the SQL.
                    assert!(!stmt.sql.contains(PATIENT), "{kind}: {}", stmt.sql);
                }
            }
            let plain = every_statement(&m, &caps, Scope::none());
            assert!(
                plain.iter().any(|(k, _)| k.starts_with("estimate")) || dialect == Dialect::Sqlite
            );
        }
    }

    #[test]
    fn the_check_finds_a_statement_without_the_scope() {
        let m = mapping(Dialect::Sqlite);
        let caps = Caps::of(Dialect::Sqlite);
        // The same statements planned without the scope fail the check, for every scope that
        // restricts every type; and so do those planned for another patient (the same SQL,
        // other values bound).
        let other_patient = Scope::patients(m.resource_types(), vec!["4243".to_string()]);
        let scopes = scopes(&m);
        let plain = every_statement(&m, &caps, Scope::none());
        let other = every_statement(&m, &caps, &other_patient);
        for (name, scope) in scopes.iter().take(2) {
            for (kind, stmt) in &plain {
                let problems = unscoped_reads(&m, &caps, scope, stmt);
                assert!(!problems.is_empty(), "{name} {kind}: {}", stmt.sql);
            }
        }
        let mut checked = 0;
        for ((kind, stmt), (_, unscoped)) in other.iter().zip(&plain) {
            // Those that bind the other patient (not those of types outside the compartment).
            if stmt.params.len() > unscoped.params.len() {
                checked += 1;
                let problems = unscoped_reads(&m, &caps, &scopes[0].1, stmt);
                assert!(!problems.is_empty(), "{kind}: {}", stmt.sql);
            }
        }
        assert!(checked > 10);
    }

    #[test]
    fn types_outside_the_compartment_have_nothing_in_scope() {
        let m = mapping(Dialect::Sqlite);
        let caps = Caps::of(Dialect::Sqlite);
        let scope = Scope::patients(m.resource_types(), vec![PATIENT.to_string()]);
        let r = read(&m, &caps, &scope, "Practitioner", "1")
            .unwrap()
            .unwrap();
        assert!(
            r.statement.sql.contains(" AND ((1=0)) AND "),
            "{}",
            r.statement.sql
        );
        // A type without any rule has nothing in scope either.
        let only_patients = Scope::rules(vec![Rule::patients("Patient", vec![PATIENT.into()])]);
        let r = read(&m, &caps, &only_patients, "Encounter", "1")
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
                .contains(" AND ((((PATIENT.\"PAT_ID\" = ?)))) AND "),
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
