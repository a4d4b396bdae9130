//! SMART mode, the scopes: a token for patient A reaches nothing of patient B by any path
//! (read, search of every type, `_id` lists, chains and `_has`, includes and revincludes,
//! compartment searches, `$everything`, totals, next links replayed across tokens), the other
//! types a request reaches follow their own scopes, and granular v2 scopes restrict every
//! path. Every expectation is computed independently by SQL on the SQLite copy; on every
//! backend.

use std::collections::BTreeSet;

use sqlx::Row;

use crate::expect::{check, expected, next_link, observations_where, typed, walk};
use crate::helpers::{TestApp, backends};
use crate::issuer::{Issuer, smart_settings, spawn_smart};

/// The mapped types in the Patient compartment.
const COMPARTMENT: [&str; 5] = [
    "Patient",
    "Encounter",
    "Condition",
    "Observation",
    "MedicationRequest",
];

/// An id no resource has.
fn missing_id(ty: &str) -> &'static str {
    if ty == "Observation" {
        "lab-999999999"
    } else {
        "999999999"
    }
}

/// The ids of `ty` in the compartment of patient `p`.
async fn compartment(app: &TestApp, ty: &str, p: i64) -> BTreeSet<String> {
    let (table, id) = match ty {
        "Observation" => return observations_where(app, &format!("PAT_ID = {p}")).await,
        "Patient" => ("PATIENT", "PAT_ID"),
        "Encounter" => ("VISIT", "VISIT_ID"),
        "Condition" => ("DIAGNOSIS", "DX_ID"),
        "MedicationRequest" => ("RX_ORDER", "RX_ID"),
        other => panic!("{other} is not in the compartment"),
    };
    let sql = format!("SELECT {id} FROM {table} WHERE DEL_FLG <> 'Y' AND PAT_ID = {p}");
    expected(app, "", &sql).await
}

/// `Type/id` of everything in the compartment of `p`.
async fn everything_of(app: &TestApp, p: i64) -> BTreeSet<String> {
    let mut all = BTreeSet::new();
    for ty in COMPARTMENT {
        all.extend(typed(ty, compartment(app, ty, p).await));
    }
    all
}

/// The lab observations of `p`.
async fn labs(app: &TestApp, p: i64) -> BTreeSet<String> {
    let sql = format!("SELECT RSLT_ID FROM LAB_RESULT WHERE DEL_FLG <> 'Y' AND PAT_ID = {p}");
    expected(app, "lab-", &sql).await
}

/// The two patients of the suite.
struct Pair {
    a: i64,
    b: i64,
    /// B's family name (A's does not start with it).
    b_family: String,
    /// A LOINC code of a lab result of B's that A has none of.
    b_only_code: String,
}

/// Two patients with data of every kind, different family names, and a lab code of B's that
/// A does not have.
async fn pair(app: &TestApp) -> Pair {
    let rich = "SELECT P.PAT_ID, P.LAST_NM FROM PATIENT P WHERE P.DEL_FLG <> 'Y' \
        AND EXISTS (SELECT 1 FROM LAB_RESULT X JOIN LAB_TEST_MAP M ON M.LOCAL_CD = X.TEST_CD \
                    WHERE X.PAT_ID = P.PAT_ID AND X.DEL_FLG <> 'Y') \
        AND EXISTS (SELECT 1 FROM VITALS X WHERE X.PAT_ID = P.PAT_ID AND X.DEL_FLG <> 'Y' AND X.HR IS NOT NULL) \
        AND EXISTS (SELECT 1 FROM VISIT X WHERE X.PAT_ID = P.PAT_ID AND X.DEL_FLG <> 'Y' AND X.ATTEND_PROV_ID IS NOT NULL) \
        AND EXISTS (SELECT 1 FROM DIAGNOSIS X WHERE X.PAT_ID = P.PAT_ID AND X.DEL_FLG <> 'Y' AND X.VISIT_ID IS NOT NULL) \
        AND EXISTS (SELECT 1 FROM RX_ORDER X WHERE X.PAT_ID = P.PAT_ID AND X.DEL_FLG <> 'Y') \
        ORDER BY P.PAT_ID";
    let rows = sqlx::query(rich).fetch_all(&app.db).await.unwrap();
    let patients: Vec<(i64, String)> = rows
        .iter()
        .map(|r| (r.get::<i64, _>(0), r.get::<String, _>(1)))
        .collect();
    let (a, a_family) = patients[0].clone();
    for (b, b_family) in &patients[1..] {
        let (fa, fb) = (a_family.to_lowercase(), b_family.to_lowercase());
        if fa.starts_with(&fb) || fb.starts_with(&fa) {
            continue;
        }
        let only_b = format!(
            "SELECT M.LOINC_CD FROM LAB_RESULT X JOIN LAB_TEST_MAP M ON M.LOCAL_CD = X.TEST_CD \
             WHERE X.PAT_ID = {b} AND X.DEL_FLG <> 'Y' AND M.LOINC_CD NOT IN ( \
               SELECT M2.LOINC_CD FROM LAB_RESULT Y JOIN LAB_TEST_MAP M2 ON M2.LOCAL_CD = Y.TEST_CD \
               WHERE Y.PAT_ID = {a}) ORDER BY M.LOINC_CD LIMIT 1"
        );
        if let Some(row) = sqlx::query(sqlx::AssertSqlSafe(only_b))
            .fetch_optional(&app.db)
            .await
            .unwrap()
        {
            return Pair {
                a,
                b: *b,
                b_family: b_family.clone(),
                b_only_code: row.get::<String, _>(0),
            };
        }
    }
    panic!("no second patient for the suite");
}

/// The server of `app` under a token of `scope` for `patient`.
fn as_token(issuer: &Issuer, app: &TestApp, scope: &str, patient: i64) -> TestApp {
    app.with_token(&issuer.token(&app.base, scope, Some(&patient.to_string())))
}

/// The matches (as a set) and included resources of every page of `path`.
async fn found(app: &TestApp, path: &str) -> (BTreeSet<String>, BTreeSet<String>) {
    let (matches, included) = walk(app, path).await;
    (matches.into_iter().collect(), included)
}

/// `Bundle.total` of `path`.
async fn total(app: &TestApp, path: &str) -> u64 {
    let (status, body) = app.get(path).await;
    assert_eq!(status, 200, "{}: {path}: {body}", app.dialect);
    body["total"]
        .as_u64()
        .unwrap_or_else(|| panic!("{path}: no total: {body}"))
}

/// Asserts that `path` answers exactly what `like` (a path to something that does not exist)
/// answers, its id `like_id` replaced by `id`.
async fn same_as_missing(app: &TestApp, path: &str, like: &str, like_id: &str, id: &str) {
    let (status, body) = app.get(path).await;
    let (want_status, want) = app.get(like).await;
    assert_eq!(want_status, 404, "{like}: {want}");
    assert_eq!(status, 404, "{}: {path}: {body}", app.dialect);
    let want = want.to_string().replace(like_id, id);
    assert_eq!(body.to_string(), want, "{}: {path}", app.dialect);
}

/// The matches of every page from the absolute `url` on.
async fn matches_from(app: &TestApp, url: &str) -> BTreeSet<String> {
    let rel = url.strip_prefix(&format!("{}/", app.base)).unwrap();
    found(app, rel).await.0
}

#[tokio::test]
async fn a_patient_token_reaches_nothing_of_another_patient() {
    let issuer = Issuer::start().await;
    for backend in backends() {
        let app = spawn_smart(backend, smart_settings(&issuer)).await;
        let Pair {
            a,
            b,
            b_family,
            b_only_code,
        } = pair(&app).await;
        let ta = as_token(&issuer, &app, "launch/patient patient/*.rs", a);
        for ty in COMPARTMENT {
            let mine = compartment(&app, ty, a).await;
            let theirs = compartment(&app, ty, b).await;
            assert!(!mine.is_empty() && !theirs.is_empty(), "{ty}");
            // Every search, paged; totals, counts and estimates.
            check(&ta, &format!("{ty}?_count=4"), mine.clone()).await;
            let n = mine.len() as u64;
            assert_eq!(
                total(&ta, &format!("{ty}?_total=accurate&_count=1")).await,
                n
            );
            assert_eq!(total(&ta, &format!("{ty}?_summary=count")).await, n);
            assert_eq!(
                total(&ta, &format!("{ty}?_total=estimate&_count=1")).await,
                n
            );
            // `_id` lists mixing both patients' ids.
            let pick: Vec<&String> = mine.iter().take(3).chain(theirs.iter().take(3)).collect();
            let ids: Vec<&str> = pick.iter().map(|s| s.as_str()).collect();
            let want: BTreeSet<String> = mine.iter().take(3).cloned().collect();
            check(&ta, &format!("{ty}?_id={}", ids.join(",")), want).await;
            // Reads: B's resources are as missing as those that do not exist.
            let first = mine.iter().next().unwrap();
            assert_eq!(ta.get(&format!("{ty}/{first}")).await.0, 200);
            let missing = missing_id(ty);
            for id in theirs.iter().take(4) {
                same_as_missing(
                    &ta,
                    &format!("{ty}/{id}"),
                    &format!("{ty}/{missing}"),
                    missing,
                    id,
                )
                .await;
            }
            // B's compartment: empty, as the compartment of a patient that does not exist.
            let path = format!("Patient/{b}/{ty}?_total=accurate");
            let (status, bundle) = ta.get(&path).await;
            assert_eq!(status, 200, "{path}: {bundle}");
            assert_eq!(bundle["total"], 0, "{path}");
            assert!(bundle.get("entry").is_none(), "{path}: {bundle}");
            // A's own compartment search.
            check(&ta, &format!("Patient/{a}/{ty}?_count=3"), mine).await;
        }
        // Types outside the Patient compartment are not for patient scopes.
        for path in ["Practitioner?name=a", "Organization/1", "Practitioner/1"] {
            assert_eq!(ta.get(path).await.0, 403, "{path}");
        }
        // $everything: B's is as missing as a patient that does not exist; A's is A's data,
        // without the practitioners and organizations (no scope reaches them).
        same_as_missing(
            &ta,
            &format!("Patient/{b}/$everything"),
            "Patient/999999999/$everything",
            "999999999",
            &b.to_string(),
        )
        .await;
        let (all, included) = found(&ta, &format!("Patient/{a}/$everything?_count=7")).await;
        assert_eq!(all, everything_of(&app, a).await);
        assert_eq!(included, BTreeSet::new());
        // Chains and `_has` whose conditions only B's data meets: as if B did not exist.
        let family = b_family.replace('\'', "''");
        let chain = observations_where(
            &app,
            &format!(
                "PAT_ID = {a} AND PAT_ID IN (SELECT PAT_ID FROM PATIENT WHERE DEL_FLG <> 'Y' \
                 AND LOWER(LAST_NM) LIKE LOWER('{family}') || '%')"
            ),
        )
        .await;
        check(
            &ta,
            &format!("Observation?patient.family={b_family}"),
            chain,
        )
        .await;
        check(
            &ta,
            &format!("Patient?_has:Observation:patient:code=http://loinc.org|{b_only_code}"),
            BTreeSet::new(),
        )
        .await;
        // Includes: only A's patient comes with the matches, whatever they refer to.
        let (matches, included) = found(
            &ta,
            &format!("Observation?patient={a},{b}&_include=Observation:patient"),
        )
        .await;
        assert_eq!(
            matches,
            typed("Observation", compartment(&app, "Observation", a).await)
        );
        assert_eq!(included, BTreeSet::from([format!("Patient/{a}")]));
        // Revincludes, iterated.
        let (matches, included) = found(
            &ta,
            &format!(
                "Patient?_id={a},{b}&_revinclude=Encounter:patient&_revinclude:iterate=Condition:encounter"
            ),
        )
        .await;
        assert_eq!(matches, BTreeSet::from([format!("Patient/{a}")]));
        let mut want = typed("Encounter", compartment(&app, "Encounter", a).await);
        let conditions = format!(
            "SELECT DX_ID FROM DIAGNOSIS WHERE DEL_FLG <> 'Y' AND PAT_ID = {a} AND VISIT_ID IN \
             (SELECT VISIT_ID FROM VISIT WHERE DEL_FLG <> 'Y' AND PAT_ID = {a})"
        );
        want.extend(typed("Condition", expected(&app, "", &conditions).await));
        assert_eq!(included, want);
    }
}

#[tokio::test]
async fn the_other_types_a_request_reaches_follow_their_own_scopes() {
    let issuer = Issuer::start().await;
    for backend in backends() {
        let app = spawn_smart(backend, smart_settings(&issuer)).await;
        let Pair {
            a,
            b,
            b_family,
            b_only_code,
        } = pair(&app).await;
        // A user token that sees every patient: the control, showing what a leak would be.
        let everyone = as_token(&issuer, &app, "user/*.rs", a);
        // Observations of every patient, patients of A's only.
        let obs_all = as_token(&issuer, &app, "user/Observation.rs patient/Patient.rs", a);
        let chain = format!("Observation?patient.family={b_family}&_count=50");
        let (leak, _) = found(&everyone, &chain).await;
        assert!(
            leak.iter().any(|o| {
                let id = o.split_once('/').unwrap().1;
                id.starts_with("lab-") || id.starts_with("vs-")
            }),
            "{}: the control must find B's data",
            app.dialect
        );
        let family = b_family.replace('\'', "''");
        let visible = observations_where(
            &app,
            &format!(
                "PAT_ID = {a} AND PAT_ID IN (SELECT PAT_ID FROM PATIENT WHERE DEL_FLG <> 'Y' \
                 AND LOWER(LAST_NM) LIKE LOWER('{family}') || '%')"
            ),
        )
        .await;
        check(&obs_all, &chain, visible).await;
        let (matches, included) = found(
            &obs_all,
            &format!("Observation?patient={a},{b}&_include=Observation:patient"),
        )
        .await;
        let mut both = typed("Observation", compartment(&app, "Observation", a).await);
        both.extend(typed(
            "Observation",
            compartment(&app, "Observation", b).await,
        ));
        assert_eq!(matches, both);
        assert_eq!(included, BTreeSet::from([format!("Patient/{a}")]));
        // Patients of everyone, observations of A's only: `_has` cannot test B's observations.
        let patients_all = as_token(&issuer, &app, "user/Patient.rs patient/Observation.rs", a);
        let has = format!("Patient?_has:Observation:patient:code=http://loinc.org|{b_only_code}");
        let (leak, _) = found(&everyone, &has).await;
        assert!(leak.contains(&format!("Patient/{b}")), "{}", app.dialect);
        check(&patients_all, &has, BTreeSet::new()).await;
        // A's encounters with their practitioners (a user scope), and the encounters of those
        // practitioners: only A's (which are matches already).
        let with_staff = as_token(&issuer, &app, "patient/*.rs user/Practitioner.rs", a);
        let path = format!(
            "Encounter?patient={a}&_include=Encounter:practitioner&_revinclude:iterate=Encounter:practitioner"
        );
        let (leak, leaked) = found(&everyone, &path).await;
        assert!(
            leaked.iter().any(|r| r.starts_with("Encounter/")),
            "{}: the control must reach other patients' encounters",
            app.dialect
        );
        let (matches, included) = found(&with_staff, &path).await;
        assert_eq!(matches, leak);
        let staff = format!(
            "SELECT DISTINCT ATTEND_PROV_ID FROM VISIT WHERE DEL_FLG <> 'Y' AND PAT_ID = {a} \
             AND ATTEND_PROV_ID IN (SELECT PROV_ID FROM PROVIDER)"
        );
        assert_eq!(
            included,
            typed("Practitioner", expected(&app, "", &staff).await)
        );
    }
}

#[tokio::test]
async fn next_links_follow_the_scope_of_the_token_that_brings_them() {
    let issuer = Issuer::start().await;
    for backend in backends() {
        let app = spawn_smart(backend, smart_settings(&issuer)).await;
        let Pair { a, b, .. } = pair(&app).await;
        let scope = "patient/*.rs";
        let ta = as_token(&issuer, &app, scope, a);
        let tb = as_token(&issuer, &app, scope, b);
        for (first, second, mine, theirs) in [(&ta, &tb, a, b), (&tb, &ta, b, a)] {
            let (_, page) = first.get("Observation?_count=2").await;
            let next = next_link(&page).expect("a next link");
            let got = matches_from(second, &next).await;
            let allowed = typed(
                "Observation",
                compartment(&app, "Observation", theirs).await,
            );
            assert!(got.is_subset(&allowed), "{}: {got:?}", app.dialect);
            // In a compartment: the other patient's compartment seen by this token is empty.
            let (_, page) = first
                .get(&format!("Patient/{mine}/Encounter?_count=1"))
                .await;
            let next = next_link(&page).expect("a next link");
            assert_eq!(matches_from(second, &next).await, BTreeSet::new());
        }
        // $everything's next link under another patient's token: as if A did not exist.
        let (_, page) = ta.get(&format!("Patient/{a}/$everything?_count=2")).await;
        let next = next_link(&page).expect("a next link");
        let rel = next.strip_prefix(&format!("{}/", app.base)).unwrap();
        let (status, body) = tb.get(rel).await;
        assert_eq!(status, 404, "{}: {body}", app.dialect);
        // And under the same token the pages go on.
        assert_eq!(ta.get(rel).await.0, 200);
    }
}

#[tokio::test]
async fn granular_scopes_restrict_every_path() {
    let issuer = Issuer::start().await;
    for backend in backends() {
        let app = spawn_smart(backend, smart_settings(&issuer)).await;
        let Pair { a, .. } = pair(&app).await;
        let lab = as_token(
            &issuer,
            &app,
            "patient/Patient.rs patient/Observation.rs?category=laboratory",
            a,
        );
        let my_labs = labs(&app, a).await;
        let my_vitals: BTreeSet<String> = compartment(&app, "Observation", a)
            .await
            .difference(&my_labs)
            .cloned()
            .collect();
        assert!(!my_labs.is_empty() && !my_vitals.is_empty());
        check(&lab, "Observation?_count=4", my_labs.clone()).await;
        check(&lab, "Observation?category=vital-signs", BTreeSet::new()).await;
        let n = my_labs.len() as u64;
        assert_eq!(total(&lab, "Observation?_total=accurate&_count=1").await, n);
        assert_eq!(total(&lab, "Observation?_summary=count").await, n);
        assert_eq!(total(&lab, "Observation?_total=estimate&_count=1").await, n);
        check(&lab, &format!("Patient/{a}/Observation"), my_labs.clone()).await;
        let mixed: Vec<&str> = my_labs
            .iter()
            .take(3)
            .chain(my_vitals.iter().take(3))
            .map(String::as_str)
            .collect();
        let want: BTreeSet<String> = my_labs.iter().take(3).cloned().collect();
        check(&lab, &format!("Observation?_id={}", mixed.join(",")), want).await;
        let vital = my_vitals.iter().next().unwrap();
        same_as_missing(
            &lab,
            &format!("Observation/{vital}"),
            "Observation/lab-999999999",
            "lab-999999999",
            vital,
        )
        .await;
        let first_lab = my_labs.iter().next().unwrap();
        assert_eq!(lab.get(&format!("Observation/{first_lab}")).await.0, 200);
        // $everything: the patient and the labs (no scope for the other types).
        let (all, _) = found(&lab, &format!("Patient/{a}/$everything")).await;
        let mut want = typed("Observation", my_labs.clone());
        want.insert(format!("Patient/{a}"));
        assert_eq!(all, want);
        // Revincludes and `_has` see the labs only.
        let (_, included) = found(
            &lab,
            &format!("Patient?_id={a}&_revinclude=Observation:patient"),
        )
        .await;
        assert_eq!(included, typed("Observation", my_labs.clone()));
        let me = BTreeSet::from([a.to_string()]);
        check(
            &lab,
            "Patient?_has:Observation:patient:category=vital-signs",
            BTreeSet::new(),
        )
        .await;
        check(
            &lab,
            "Patient?_has:Observation:patient:category=laboratory",
            me,
        )
        .await;
        // Two granular scopes of a type are ORed.
        let two = as_token(
            &issuer,
            &app,
            "patient/Observation.rs?category=laboratory patient/Observation.rs?code=http://loinc.org|8867-4",
            a,
        );
        let hr = expected(
            &app,
            "vs-hr-",
            &format!(
                "SELECT VS_ID FROM VITALS WHERE DEL_FLG <> 'Y' AND HR IS NOT NULL AND PAT_ID = {a}"
            ),
        )
        .await;
        let mut want = my_labs.clone();
        want.extend(hr);
        check(&two, "Observation?_count=6", want).await;
        // `.r` and `.s` apart: reads of every observation, searches of the labs only.
        let split = as_token(
            &issuer,
            &app,
            "patient/Observation.r patient/Observation.s?category=laboratory",
            a,
        );
        check(&split, "Observation", my_labs.clone()).await;
        assert_eq!(split.get(&format!("Observation/{vital}")).await.0, 200);
        let read_only = as_token(&issuer, &app, "patient/Observation.r", a);
        assert_eq!(read_only.get("Observation").await.0, 403);
        assert_eq!(read_only.get(&format!("Observation/{vital}")).await.0, 200);
        let search_only = as_token(&issuer, &app, "patient/Observation.s", a);
        let (status, body) = search_only.get(&format!("Observation/{vital}")).await;
        assert_eq!(status, 403, "{body}");
        assert_eq!(body["issue"][0]["code"], "forbidden");
        check(
            &search_only,
            "Observation?_count=50",
            compartment(&app, "Observation", a).await,
        )
        .await;
        // v1 and write-only scopes.
        let v1 = as_token(&issuer, &app, "patient/Observation.read", a);
        check(
            &v1,
            "Observation?_count=50",
            compartment(&app, "Observation", a).await,
        )
        .await;
        let write = as_token(&issuer, &app, "patient/*.cud patient/Observation.write", a);
        assert_eq!(write.get("Observation").await.0, 403);
        assert_eq!(write.get(&format!("Observation/{first_lab}")).await.0, 403);
    }
}
