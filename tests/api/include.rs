//! `_include` and `_revinclude` on every backend. What must be included is computed by SQL
//! written here over the SQLite copy of the sample data, not by the code under test.

use std::collections::BTreeSet;

use serde_json::Value;

use crate::expect::{expected, next_link, observations_where, typed};
use crate::helpers::{TestApp, backends, settings, spawn_apps, spawn_with};

/// `Type/<prefix><id>` for every id (first column) selected by `sql`.
async fn refs(app: &TestApp, ty: &str, prefix: &str, sql: &str) -> BTreeSet<String> {
    typed(ty, expected(app, prefix, sql).await)
}

/// Every Observation (all five sources) whose row satisfies `cond` on its own table.
async fn observations(app: &TestApp, cond: &str) -> BTreeSet<String> {
    typed("Observation", observations_where(app, cond).await)
}

/// A searchset split by mode, checked: valid, no resource twice.
struct Found {
    matches: BTreeSet<String>,
    included: BTreeSet<String>,
    outcome: Option<Value>,
    bundle: Value,
    statements: usize,
}

async fn get_with(app: &TestApp, query: &str, headers: &[(&str, &str)]) -> Found {
    let url = if query.starts_with("http") {
        query.to_string()
    } else {
        format!("{}/{query}", app.base)
    };
    let mut req = app.client.get(&url);
    for (k, v) in headers {
        req = req.header(*k, *v);
    }
    let res = req.send().await.unwrap();
    let statements = res.headers()["x-sql-statements"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert_eq!(res.status(), 200, "{}: {query}", app.dialect);
    let bundle: Value = res.json().await.unwrap();
    crate::fhir_schema::assert_valid(&bundle);
    let mut matches = BTreeSet::new();
    let mut included = BTreeSet::new();
    let mut outcome = None;
    for e in bundle["entry"].as_array().into_iter().flatten() {
        let r = &e["resource"];
        let key = format!(
            "{}/{}",
            r["resourceType"].as_str().unwrap(),
            r["id"].as_str().unwrap_or_default()
        );
        match e["search"]["mode"].as_str().unwrap() {
            "match" => assert!(matches.insert(key.clone()), "{query}: {key} twice"),
            "include" => {
                assert!(
                    !matches.contains(&key),
                    "{query}: {key} matched and included"
                );
                assert!(
                    included.insert(key.clone()),
                    "{query}: {key} included twice"
                );
                assert_eq!(e["fullUrl"], format!("{}/{key}", app.base));
            }
            "outcome" => outcome = Some(r.clone()),
            m => panic!("mode {m}"),
        }
    }
    Found {
        matches,
        included,
        outcome,
        bundle,
        statements,
    }
}

async fn get(app: &TestApp, query: &str) -> Found {
    get_with(app, query, &[]).await
}

fn ids(set: &BTreeSet<String>) -> String {
    set.iter()
        .map(|r| r.rsplit('/').next().unwrap())
        .collect::<Vec<_>>()
        .join(", ")
}

const VISITS: &str = "SELECT VISIT_ID FROM VISIT WHERE DEL_FLG <> 'Y'";

#[tokio::test]
async fn include_reads_what_the_matches_refer_to() {
    for app in spawn_apps().await {
        // Finished encounters, all on one page: their patients and attending practitioners.
        let finished = format!("{VISITS} AND VISIT_STAT = 'D'");
        let want_matches = refs(&app, "Encounter", "", &finished).await;
        assert!(want_matches.len() > 20 && want_matches.len() < 1000);
        let mut want = refs(
            &app,
            "Patient",
            "",
            "SELECT PAT_ID FROM PATIENT WHERE DEL_FLG <> 'Y' AND PAT_ID IN (SELECT PAT_ID FROM VISIT WHERE DEL_FLG <> 'Y' AND VISIT_STAT = 'D')",
        )
        .await;
        want.extend(
            refs(
                &app,
                "Practitioner",
                "",
                "SELECT PROV_ID FROM PROVIDER WHERE PROV_ID IN (SELECT ATTEND_PROV_ID FROM VISIT WHERE DEL_FLG <> 'Y' AND VISIT_STAT = 'D')",
            )
            .await,
        );
        let f = get(
            &app,
            "Encounter?status=finished&_count=1000&_include=Encounter:patient&_include=Encounter:practitioner",
        )
        .await;
        assert_eq!(f.matches, want_matches, "{}", app.dialect);
        assert_eq!(f.included, want, "{}", app.dialect);
        assert!(f.outcome.is_none());

        // Only the references of the page's own matches, page after page; `:Patient` and
        // `subject` (the same element) give the same; included resources are not counted.
        let mut url = "Observation?_count=50&_total=accurate&_include=Observation:subject:Patient"
            .to_string();
        let total = observations(&app, "1=1").await.len();
        let mut pages = 0;
        loop {
            let f = get(&app, &url).await;
            assert_eq!(f.bundle["total"], total, "{}", app.dialect);
            let (mut labs, mut vitals) = (vec!["0".to_string()], vec!["0".to_string()]);
            for m in &f.matches {
                let id = m.strip_prefix("Observation/").unwrap();
                match id.strip_prefix("lab-") {
                    Some(n) => labs.push(n.to_string()),
                    None => vitals.push(id.rsplit('-').next().unwrap().to_string()),
                }
            }
            let want = refs(
                &app,
                "Patient",
                "",
                &format!(
                    "SELECT PAT_ID FROM PATIENT WHERE DEL_FLG <> 'Y' AND (PAT_ID IN (SELECT PAT_ID FROM LAB_RESULT WHERE RSLT_ID IN ({})) OR PAT_ID IN (SELECT PAT_ID FROM VITALS WHERE VS_ID IN ({})))",
                    labs.join(", "),
                    vitals.join(", ")
                ),
            )
            .await;
            assert_eq!(f.included, want, "{}: {url}", app.dialect);
            pages += 1;
            match next_link(&f.bundle) {
                Some(next) => {
                    assert!(next.contains("_include=Observation%3Asubject%3APatient"));
                    url = next;
                }
                None => break,
            }
        }
        assert!(pages > 3);
    }
}

#[tokio::test]
async fn revinclude_reads_what_refers_to_the_matches() {
    for app in spawn_apps().await {
        // Patients 1 to 6, the soft-deleted ones (2 at least) left out.
        let f = get(
            &app,
            "Patient?_id=1,2,3,4,5,6&_revinclude=Encounter:patient&_revinclude=Condition:subject&_revinclude=Observation:patient",
        )
        .await;
        let patients = "SELECT PAT_ID FROM PATIENT WHERE DEL_FLG <> 'Y' AND PAT_ID <= 6";
        let matched = refs(&app, "Patient", "", patients).await;
        assert!(!matched.contains("Patient/2"));
        assert_eq!(f.matches, matched);
        let mut want = refs(
            &app,
            "Encounter",
            "",
            &format!("{VISITS} AND PAT_ID IN ({patients})"),
        )
        .await;
        want.extend(
            refs(
                &app,
                "Condition",
                "",
                &format!(
                    "SELECT DX_ID FROM DIAGNOSIS WHERE DEL_FLG <> 'Y' AND PAT_ID IN ({patients})"
                ),
            )
            .await,
        );
        want.extend(observations(&app, &format!("PAT_ID IN ({patients})")).await);
        assert_eq!(f.included, want, "{}", app.dialect);

        // A soft-deleted patient matches nothing, so nothing refers to it.
        let f = get(&app, "Patient?_id=2&_revinclude=Encounter:patient").await;
        assert!(f.matches.is_empty() && f.included.is_empty());

        // Referring to a type with several sources: every source is read.
        let f = get(
            &app,
            "Encounter?_id=1&_revinclude=Observation:encounter&_revinclude=MedicationRequest:encounter",
        )
        .await;
        let mut want = observations(&app, "VISIT_ID = 1").await;
        want.extend(
            refs(
                &app,
                "MedicationRequest",
                "",
                "SELECT RX_ID FROM RX_ORDER WHERE DEL_FLG <> 'Y' AND VISIT_ID = 1",
            )
            .await,
        );
        assert!(want.iter().any(|r| r.contains("vs-bp-")));
        assert_eq!(f.included, want, "{}", app.dialect);

        // `Type:*`: every reference parameter of Encounter that refers to Patient.
        let star = get(&app, "Patient?_id=3&_revinclude=Encounter:*").await;
        let want = refs(&app, "Encounter", "", &format!("{VISITS} AND PAT_ID = 3")).await;
        assert_eq!(star.included, want, "{}", app.dialect);
    }
}

#[tokio::test]
async fn iterate_follows_included_resources_until_nothing_is_new() {
    for app in spawn_apps().await {
        // Condition → Encounter → Patient → Practitioner, and Encounter → department → hospital.
        let f = get(
            &app,
            "Condition?_id=1&_include=Condition:encounter&_include:iterate=Encounter:patient&_include:recurse=Patient:general-practitioner&_include:iterate=Encounter:service-provider&_include:iterate=Organization:partof",
        )
        .await;
        let mut want = refs(
            &app,
            "Encounter",
            "",
            "SELECT VISIT_ID FROM DIAGNOSIS WHERE DX_ID = 1",
        )
        .await;
        want.extend(
            refs(
                &app,
                "Patient",
                "",
                "SELECT PAT_ID FROM VISIT WHERE VISIT_ID = 1",
            )
            .await,
        );
        want.extend(
            refs(
                &app,
                "Practitioner",
                "",
                "SELECT PCP_PROV_ID FROM PATIENT WHERE PAT_ID = (SELECT PAT_ID FROM VISIT WHERE VISIT_ID = 1)",
            )
            .await,
        );
        want.extend(
            refs(
                &app,
                "Organization",
                "",
                "SELECT DEPT_ID FROM VISIT WHERE VISIT_ID = 1 UNION SELECT PARENT_DEPT_ID FROM DEPT WHERE DEPT_ID = (SELECT DEPT_ID FROM VISIT WHERE VISIT_ID = 1)",
            )
            .await,
        );
        assert_eq!(want.len(), 5, "{want:?}");
        assert_eq!(f.included, want, "{}", app.dialect);
        // The self link echoes the includes, `:recurse` written as `:iterate`.
        let self_url = f.bundle["link"][0]["url"].as_str().unwrap();
        assert!(
            self_url.contains("_include%3Aiterate=Patient%3Ageneral-practitioner"),
            "{self_url}"
        );

        // Without :iterate only the matches' own references are followed.
        let f = get(
            &app,
            "Condition?_id=1&_include=Condition:encounter&_include=Condition:patient",
        )
        .await;
        assert_eq!(
            ids(&f.included),
            "1, 1",
            "{}: {:?}",
            app.dialect,
            f.included
        );

        // Reverse, iterated: the patient's encounters, then the conditions of those.
        let f = get(
            &app,
            "Patient?_id=1&_revinclude=Encounter:patient&_revinclude:iterate=Condition:encounter",
        )
        .await;
        let mut want = refs(&app, "Encounter", "", &format!("{VISITS} AND PAT_ID = 1")).await;
        want.extend(
            refs(
                &app,
                "Condition",
                "",
                &format!(
                    "SELECT DX_ID FROM DIAGNOSIS WHERE DEL_FLG <> 'Y' AND VISIT_ID IN ({VISITS} AND PAT_ID = 1)"
                ),
            )
            .await,
        );
        assert_eq!(f.included, want, "{}", app.dialect);

        // A hierarchy walked down to its end (every department under the hospital).
        let tree = "WITH RECURSIVE t(id) AS (SELECT DEPT_ID FROM DEPT WHERE PARENT_DEPT_ID = 1 UNION SELECT d.DEPT_ID FROM DEPT d JOIN t ON d.PARENT_DEPT_ID = t.id) SELECT id FROM t";
        let f = get(
            &app,
            "Organization?_id=1&_revinclude:iterate=Organization:partof",
        )
        .await;
        assert_eq!(f.included, refs(&app, "Organization", "", tree).await);
        assert!(!f.included.is_empty());
    }
}

#[tokio::test]
async fn a_resource_is_served_once() {
    for app in spawn_apps().await {
        // Every organization matches; those the others are part of are not included again.
        let f = get(
            &app,
            "Organization?_count=1000&_include=Organization:partof&_revinclude=Organization:partof",
        )
        .await;
        assert!(f.matches.len() > 5);
        assert!(f.included.is_empty(), "{:?}", f.included);

        // Patient 1 comes back through its encounters: it stays a match only. Its encounters
        // share practitioners and departments, each included once (checked by `get`).
        let f = get(
            &app,
            "Patient?_id=1&_revinclude=Encounter:patient&_include:iterate=Encounter:patient&_include:iterate=Encounter:practitioner&_include:iterate=Encounter:service-provider&_include=Patient:general-practitioner",
        )
        .await;
        let mut want = refs(&app, "Encounter", "", &format!("{VISITS} AND PAT_ID = 1")).await;
        want.extend(
            refs(
                &app,
                "Practitioner",
                "",
                "SELECT PROV_ID FROM PROVIDER WHERE PROV_ID IN (SELECT ATTEND_PROV_ID FROM VISIT WHERE DEL_FLG <> 'Y' AND PAT_ID = 1) OR PROV_ID = (SELECT PCP_PROV_ID FROM PATIENT WHERE PAT_ID = 1)",
            )
            .await,
        );
        want.extend(
            refs(
                &app,
                "Organization",
                "",
                "SELECT DEPT_ID FROM DEPT WHERE DEPT_ID IN (SELECT DEPT_ID FROM VISIT WHERE DEL_FLG <> 'Y' AND PAT_ID = 1)",
            )
            .await,
        );
        assert_eq!(f.matches, ["Patient/1".to_string()].into());
        assert_eq!(f.included, want, "{}", app.dialect);
        // The same include given twice is followed (and echoed) once.
        let f = get(
            &app,
            "Encounter?_id=1&_include=Encounter:patient&_include=Encounter:patient",
        )
        .await;
        assert_eq!(f.included.len(), 1);
        let self_url = f.bundle["link"][0]["url"].as_str().unwrap();
        assert_eq!(self_url.matches("_include").count(), 1, "{self_url}");
    }
}

#[tokio::test]
async fn the_cap_limits_includes_and_says_so() {
    for b in backends() {
        let mut s = settings(&b.url, crate::helpers::MAPPING);
        s.max_includes = 5;
        let app = spawn_with(b, s).await;
        let all = observations(&app, "PAT_ID = 1").await;
        assert!(all.len() > 5);
        let f = get(&app, "Patient?_id=1&_revinclude=Observation:patient").await;
        assert_eq!(f.included.len(), 5, "{}", app.dialect);
        assert!(f.included.is_subset(&all));
        let outcome = f.outcome.expect("a warning");
        assert_eq!(outcome["issue"][0]["severity"], "warning");
        assert!(
            outcome["issue"][0]["diagnostics"]
                .as_str()
                .unwrap()
                .contains("only the first 5 included resources")
        );
        // Exactly as many as the cap: no warning.
        let visits = refs(&app, "Encounter", "", &format!("{VISITS} AND PAT_ID = 1")).await;
        assert!(visits.len() <= 5);
        let f = get(&app, "Patient?_id=1&_revinclude=Encounter:patient").await;
        assert_eq!(f.included, visits);
        assert!(f.outcome.is_none());
        // Iteration stops at the cap too.
        let f = get(
            &app,
            "Patient?_id=1&_revinclude=Encounter:patient&_revinclude:iterate=Observation:encounter",
        )
        .await;
        assert_eq!(f.included.len(), 5);
        assert!(f.outcome.is_some());
    }
}

#[tokio::test]
async fn includes_are_batched_not_one_statement_per_resource() {
    for app in spawn_apps().await {
        // One page statement; one for the patients and one per patient child table (one for
        // all three on PostgreSQL).
        let children = if app.dialect.reads_children_in_one_union() {
            1
        } else {
            3
        };
        for count in [10, 100] {
            let f = get(
                &app,
                &format!("Observation?_count={count}&_include=Observation:patient"),
            )
            .await;
            assert_eq!(f.matches.len(), count);
            assert!(!f.included.is_empty());
            assert_eq!(
                f.statements,
                2 + children,
                "{}: _count={count}",
                app.dialect
            );
        }
        // Page, patient child tables, then one statement over the five Observation sources.
        for count in [5, 100] {
            let f = get(
                &app,
                &format!("Patient?_count={count}&_revinclude=Observation:patient"),
            )
            .await;
            assert_eq!(f.matches.len(), count);
            assert!(f.included.len() > count);
            assert_eq!(f.statements, 2 + children, "{}", app.dialect);
        }
        let f = get(&app, "Patient?_count=100&_revinclude=Encounter:patient").await;
        assert!(f.included.len() > 100);
        assert_eq!(f.statements, 2 + children, "{}", app.dialect);
    }
}

#[tokio::test]
async fn bad_includes_are_400_naming_them_unless_lenient() {
    for app in spawn_apps().await {
        // Malformed includes and unsupported modifiers are refused whatever the handling.
        for (query, needle) in [
            (
                "Observation?_include:deep=Observation:patient",
                "modifier ':deep'",
            ),
            ("Observation?_include=Observation", "must be Type:parameter"),
        ] {
            let (s, b) = app.get(query).await;
            assert_eq!(s, 400, "{}: {query}: {b}", app.dialect);
            let d = b["issue"][0]["diagnostics"].as_str().unwrap();
            assert!(d.contains(needle), "{query}: {d}");
        }
        // With strict handling, every unusable include is refused.
        for (query, needle) in [
            (
                "Observation?_include=Observation:foo",
                "no search parameter 'foo'",
            ),
            (
                "Observation?_include=Observation:code",
                "'code' of Observation is a token parameter",
            ),
            (
                "Observation?_include=Observation:subject:Group",
                "does not refer to Group",
            ),
            (
                "Observation?_include=Observation:subject:Nope",
                "'Nope' is not a FHIR R4 resource type",
            ),
            (
                "Observation?_include=Nope:subject",
                "'Nope' is not a FHIR R4 resource type",
            ),
            (
                "Observation?_include=Location:partof",
                "Location is not served",
            ),
            (
                "Observation?_include=Encounter:patient",
                "use _include:iterate",
            ),
            (
                "Patient?_revinclude=Observation:encounter",
                "use _revinclude:iterate",
            ),
            ("Observation?_include=*", "_include=* is not supported"),
            (
                "Observation?_include:deep=Observation:patient",
                "modifier ':deep'",
            ),
            (
                "Practitioner?_include=Practitioner:*",
                "no reference search parameter",
            ),
            ("Observation?_include=Observation", "must be Type:parameter"),
            (
                "Observation?_revinclude=Observation:subject:",
                "must be Type:parameter",
            ),
        ] {
            let d = crate::expect::rejected(&app, query).await;
            assert!(d.contains(needle), "{query}: {d}");
        }
        // Lenient: the unusable include is dropped (also from the links) and reported; the
        // others work. A malformed one is still an error.
        let lenient = [("prefer", "handling=lenient")];
        let f = get_with(
            &app,
            "Encounter?_id=1&_include=Encounter:foo&_include=Encounter:patient",
            &lenient,
        )
        .await;
        assert_eq!(f.included, ["Patient/1".to_string()].into());
        let outcome = f.outcome.expect("outcome");
        let d = outcome["issue"][0]["diagnostics"].as_str().unwrap();
        assert!(d.contains("'foo'") && d.contains("ignored"), "{d}");
        let self_url = f.bundle["link"][0]["url"].as_str().unwrap();
        assert!(!self_url.contains("foo") && self_url.contains("Encounter%3Apatient"));
        let res = app
            .client
            .get(format!("{}/Encounter?_include=Encounter", app.base))
            .header("prefer", "handling=lenient")
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 400);
        // A cursor belongs to its includes.
        let f = get(&app, "Encounter?_count=2&_include=Encounter:patient").await;
        let next = next_link(&f.bundle).unwrap();
        let token = next.split("_cursor=").nth(1).unwrap();
        let (s, _) = app
            .get(&format!("Encounter?_count=2&_cursor={token}"))
            .await;
        assert_eq!(s, 400);
        let f = get(&app, &next).await;
        assert_eq!(f.matches.len(), 2);
        assert!(!f.included.is_empty());
    }
}

#[tokio::test]
async fn elements_and_summary_apply_to_the_matches() {
    for app in spawn_apps().await {
        let f = get(
            &app,
            "Encounter?_id=1&_elements=status,class&_include=Encounter:patient",
        )
        .await;
        let entries = f.bundle["entry"].as_array().unwrap();
        assert!(entries[0]["resource"].get("subject").is_none());
        assert_eq!(entries[1]["search"]["mode"], "include");
        assert!(entries[1]["resource"].get("name").is_some());
        let f = get(&app, "Encounter?_summary=count&_include=Encounter:patient").await;
        assert!(f.bundle.get("entry").is_none());
        assert!(f.bundle["total"].as_u64().unwrap() > 0);
        // POST _search takes them too.
        let res = app
            .client
            .post(format!("{}/Encounter/_search", app.base))
            .header("content-type", "application/x-www-form-urlencoded")
            .body("_id=1&_include=Encounter:patient")
            .send()
            .await
            .unwrap();
        let b: Value = res.json().await.unwrap();
        assert_eq!(b["entry"][1]["resource"]["resourceType"], "Patient");
    }
}

#[tokio::test]
async fn the_capability_statement_lists_exactly_the_includes_that_work() {
    for app in spawn_apps().await {
        let (_, cs) = app.get("metadata").await;
        let resources = cs["rest"][0]["resource"].as_array().unwrap();
        let list = |ty: &str, key: &str| -> Vec<String> {
            resources
                .iter()
                .find(|r| r["type"] == ty)
                .unwrap()
                .get(key)
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .map(|v| v.as_str().unwrap().to_string())
                .collect()
        };
        assert_eq!(
            list("Observation", "searchInclude"),
            [
                "Observation:encounter",
                "Observation:patient",
                "Observation:performer",
                "Observation:subject",
                "Observation:*"
            ]
        );
        let rev = list("Patient", "searchRevInclude");
        for v in [
            "Encounter:patient",
            "Condition:subject",
            "Observation:patient",
            "MedicationRequest:patient",
        ] {
            assert!(rev.contains(&v.to_string()), "{v}: {rev:?}");
        }
        assert!(!rev.iter().any(|v| v.contains("encounter")), "{rev:?}");
        assert!(list("Practitioner", "searchInclude").is_empty());
        // Every advertised value works.
        for r in resources {
            let ty = r["type"].as_str().unwrap();
            for key in ["searchInclude", "searchRevInclude"] {
                let param = if key == "searchInclude" {
                    "_include"
                } else {
                    "_revinclude"
                };
                for v in list(ty, key) {
                    let (s, b) = app.get(&format!("{ty}?_count=3&{param}={v}")).await;
                    assert_eq!(s, 200, "{ty}?{param}={v}: {b}");
                }
            }
        }
    }
}

/// The sample mapping with Encounter's attending practitioner read from a child table (the
/// VISIT table itself, under another alias).
pub(crate) fn mapping_with_child_reference() -> tempfile::TempPath {
    let mut text = std::fs::read_to_string(crate::helpers::MAPPING).unwrap();
    for (from, to) in [
        (
            "\"participant[0].type[0].coding[0].system\" = { constant = \"http://terminology.hl7.org/CodeSystem/v3-ParticipationType\" }\n\"participant[0].type[0].coding[0].code\" = { constant = \"ATND\" }\n\"participant[0].individual\" = { column = \"ATTEND_PROV_ID\", reference = \"Practitioner\", required = true }\n",
            "",
        ),
        (
            "serviceProvider = { column = \"DEPT_ID\", reference = \"Organization\" }\n",
            "serviceProvider = { column = \"DEPT_ID\", reference = \"Organization\" }\n\n[[resource.child]]\npath = \"participant\"\ntable = \"VISIT\"\nalias = \"STAFF\"\nkey = \"VISIT_ID\"\nfilter = \"ATTEND_PROV_ID IS NOT NULL\"\n[resource.child.elements]\nindividual = { column = \"ATTEND_PROV_ID\", reference = \"Practitioner\" }\n",
        ),
    ] {
        assert!(text.contains(from), "{from}");
        text = text.replacen(from, to, 1);
    }
    let file = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(file.path(), text).unwrap();
    file.into_temp_path()
}

#[tokio::test]
async fn references_in_child_tables_are_followed_both_ways() {
    let mapping = mapping_with_child_reference();
    for b in backends() {
        let app = spawn_with(b, settings(&b.url, mapping.to_str().unwrap())).await;
        let f = get(
            &app,
            "Encounter?patient=Patient/1&_include=Encounter:practitioner",
        )
        .await;
        let want = refs(
            &app,
            "Practitioner",
            "",
            "SELECT PROV_ID FROM PROVIDER WHERE PROV_ID IN (SELECT ATTEND_PROV_ID FROM VISIT WHERE DEL_FLG <> 'Y' AND PAT_ID = 1)",
        )
        .await;
        assert!(!want.is_empty());
        assert_eq!(f.included, want, "{}", app.dialect);
        // The page, its participants (a child table), the practitioners.
        assert_eq!(f.statements, 3, "{}", app.dialect);

        let f = get(
            &app,
            "Practitioner?_id=1,2&_revinclude=Encounter:practitioner",
        )
        .await;
        let want = refs(
            &app,
            "Encounter",
            "",
            &format!("{VISITS} AND ATTEND_PROV_ID IN (1, 2)"),
        )
        .await;
        assert!(!want.is_empty());
        assert_eq!(f.included, want, "{}", app.dialect);
    }
}
