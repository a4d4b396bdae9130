//! `_sort` on dates with zero dates (sorted as no value) and across two Observation sources
//! storing a DATE (vitals) and a DATETIME (lab results), paged through the next links: every
//! match once, in order, the same order on every backend and on every walk.

use std::collections::BTreeMap;

use fhir_facade::sql::Dialect;

use crate::app::{App, VITALS_SOURCES, apps, has_date, rows};

/// The sort key of each id: a local date-time `YYYY-MM-DD HH:MM:SS` (a DATE as the start of
/// its day), or `None` for no value.
type Keys = BTreeMap<String, Option<String>>;

/// Whether `a` may come before `b` in a sort by key (`desc` for `-param`) on `dialect`, where
/// resources without a value come where the database puts NULLs (first ascending on SQLite
/// and MariaDB, last ascending on PostgreSQL).
fn in_order(dialect: Dialect, desc: bool, a: &Option<String>, b: &Option<String>) -> bool {
    let nulls_first = dialect.nulls_sort_first() != desc;
    match (a, b) {
        (None, None) => true,
        (None, Some(_)) => nulls_first,
        (Some(_), None) => !nulls_first,
        (Some(a), Some(b)) => {
            if desc {
                a >= b
            } else {
                a <= b
            }
        }
    }
}

/// Walks `query` twice and checks: every id of `keys` exactly once, keys in order, the same
/// order on both walks. Returns the order served.
async fn check_sorted(app: &App, query: &str, keys: &Keys, desc: bool) -> Vec<String> {
    let got = app.ids(query).await;
    let mut sorted = got.clone();
    sorted.sort();
    let want: Vec<String> = keys.keys().cloned().collect();
    assert_eq!(sorted, want, "{}: {query}: the matches", app.dialect);
    for pair in got.windows(2) {
        let (a, b) = (&keys[&pair[0]], &keys[&pair[1]]);
        assert!(
            in_order(app.dialect, desc, a, b),
            "{}: {query}: {} ({a:?}) before {} ({b:?})",
            app.dialect,
            pair[0],
            pair[1]
        );
    }
    assert_eq!(
        app.ids(query).await,
        got,
        "{}: {query}: a second walk",
        app.dialect
    );
    got
}

/// The served orders of each backend agree: the resources with a value in the same order,
/// and those without one in the same order (where they go differs by database).
fn assert_same_order(query: &str, orders: &[(Dialect, Vec<String>)], keys: &Keys) {
    let split = |order: &[String]| -> (Vec<String>, Vec<String>) {
        order.iter().cloned().partition(|id| keys[id].is_some())
    };
    let (ref_valued, ref_none) = split(&orders[0].1);
    for (dialect, order) in &orders[1..] {
        let (valued, none) = split(order);
        assert_eq!(
            valued, ref_valued,
            "{query}: {dialect} sorts unlike {}",
            orders[0].0
        );
        assert_eq!(
            none, ref_none,
            "{query}: {dialect} sorts the no-value ones unlike {}",
            orders[0].0
        );
    }
}

/// Keys of the Observations matching the lab condition `lab` (on `r`, `po`) and the vitals
/// condition `vitals` (on `v`).
async fn observation_keys(app: &App, lab: &str, vitals: &str) -> Keys {
    let mut keys = Keys::new();
    let lab_date = has_date("r.date");
    for r in rows(
        &app.db,
        &format!(
            "SELECT 'lab-' || r.procedure_result_id, CASE WHEN {lab_date} THEN r.date END \
             FROM procedure_result r JOIN procedure_order po ON po.procedure_order_id = r.procedure_order_id \
             WHERE {lab}"
        ),
    )
    .await
    {
        keys.insert(r[0].clone().unwrap(), r[1].clone());
    }
    let vit_date = has_date("v.date");
    for (prefix, present) in VITALS_SOURCES {
        for r in rows(
            &app.db,
            &format!(
                "SELECT '{prefix}' || v.id, CASE WHEN {vit_date} THEN v.date || ' 00:00:00' END \
                 FROM form_vitals v WHERE v.activity = 1 AND {present} AND ({vitals})"
            ),
        )
        .await
        {
            keys.insert(r[0].clone().unwrap(), r[1].clone());
        }
    }
    keys
}

#[tokio::test]
async fn observations_sort_by_date_across_a_date_and_a_datetime_source() {
    let apps = apps().await;
    let keys = observation_keys(&apps[0], "1 = 1", "1 = 1").await;
    // The day boundary the two sources share is in the data.
    assert!(
        keys.values()
            .any(|k| k.as_deref() == Some("2023-05-10 00:00:00"))
    );
    for (query, desc) in [
        ("Observation?_sort=date&_count=7", false),
        ("Observation?_sort=-date&_count=7", true),
    ] {
        let mut orders = Vec::new();
        for app in &apps {
            orders.push((app.dialect, check_sorted(app, query, &keys, desc).await));
        }
        assert_same_order(query, &orders, &keys);
    }
}

#[tokio::test]
async fn filtered_observations_sort_by_date_across_sources() {
    let apps = apps().await;
    let cases = [
        (
            "Observation?date=ge2023-05-01&_sort=date&_count=4",
            "r.date >= '2023-05-01 00:00:00'",
            "v.date >= '2023-05-01'",
            false,
        ),
        (
            "Observation?date=ge2023-05-01&date=lt2023-08-01&_sort=-date&_count=3",
            "r.date >= '2023-05-01 00:00:00' AND r.date < '2023-08-01 00:00:00'",
            "v.date >= '2023-05-01' AND v.date < '2023-08-01'",
            true,
        ),
        (
            "Observation?patient=Patient/12&_sort=-date,_id&_count=2",
            "po.patient_id = 12",
            "v.pid = 12",
            true,
        ),
    ];
    for (query, lab, vitals, desc) in cases {
        let keys = observation_keys(&apps[0], lab, vitals).await;
        assert!(keys.len() > 2, "{query}: {keys:?}");
        assert!(
            keys.keys().any(|id| id.starts_with("lab-"))
                && keys.keys().any(|id| !id.starts_with("lab-")),
            "{query}: both sources"
        );
        let mut orders = Vec::new();
        for app in &apps {
            orders.push((app.dialect, check_sorted(app, query, &keys, desc).await));
        }
        assert_same_order(query, &orders, &keys);
    }
}

#[tokio::test]
async fn zero_dates_sort_as_no_value() {
    let apps = apps().await;
    let dob = has_date("DOB");
    let patients: Keys = rows(
        &apps[0].db,
        &format!("SELECT pid, CASE WHEN {dob} THEN DOB END FROM patient_data"),
    )
    .await
    .into_iter()
    .map(|r| (r[0].clone().unwrap(), r[1].clone()))
    .collect();
    let start = has_date("start_date");
    let prescriptions: Keys = rows(
        &apps[0].db,
        &format!("SELECT id, CASE WHEN {start} THEN start_date END FROM prescriptions"),
    )
    .await
    .into_iter()
    .map(|r| (r[0].clone().unwrap(), r[1].clone()))
    .collect();
    for (query, keys, desc) in [
        ("Patient?_sort=birthdate&_count=6", &patients, false),
        ("Patient?_sort=-birthdate&_count=6", &patients, true),
        (
            "MedicationRequest?_sort=authoredon&_count=8",
            &prescriptions,
            false,
        ),
        (
            "MedicationRequest?_sort=-authoredon&_count=8",
            &prescriptions,
            true,
        ),
    ] {
        let mut orders = Vec::new();
        for app in &apps {
            let order = check_sorted(app, query, keys, desc).await;
            // Without a value, ties go by id: zero dates and NULLs are one group.
            let none: Vec<u32> = order
                .iter()
                .filter(|id| keys[*id].is_none())
                .map(|id| id.parse().unwrap())
                .collect();
            assert!(
                none.is_sorted(),
                "{}: {query}: no-value ones {none:?}",
                app.dialect
            );
            orders.push((app.dialect, order));
        }
        assert_same_order(query, &orders, keys);
    }
}
