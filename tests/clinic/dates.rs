//! Date searches on DATE and DATETIME columns (and a TEXT one) holding zero dates: prefixes on
//! a day boundary, zero dates matching no prefix and counting as missing, two Observation
//! sources with a DATE and a DATETIME, periods with an open end.

use crate::app::{App, apps, has_date, no_date, observations};

async fn check_all(app: &App, cases: &[(String, String)]) {
    for (query, sql) in cases {
        let want = app.expected("", sql).await;
        app.check(query, &want).await;
    }
}

#[tokio::test]
async fn birthdate_on_a_day_boundary_with_zero_dates() {
    let dob = has_date("DOB");
    let p = |cond: &str| format!("SELECT pid FROM patient_data WHERE {dob} AND {cond}");
    let cases: Vec<(String, String)> = [
        ("1960-01-01", "DOB = '1960-01-01'"),
        ("eq1960-01-01", "DOB = '1960-01-01'"),
        ("ne1960-01-01", "DOB <> '1960-01-01'"),
        ("lt1960-01-01", "DOB < '1960-01-01'"),
        ("le1960-01-01", "DOB <= '1960-01-01'"),
        ("gt1960-01-01", "DOB > '1960-01-01'"),
        ("ge1960-01-01", "DOB >= '1960-01-01'"),
        ("sa1959-12-31", "DOB > '1959-12-31'"),
        ("eb1960-01-02", "DOB < '1960-01-02'"),
        ("1960", "DOB >= '1960-01-01' AND DOB < '1961-01-01'"),
        ("ne1960", "NOT (DOB >= '1960-01-01' AND DOB < '1961-01-01')"),
        ("lt1960", "DOB < '1960-01-01'"),
        ("ge1961", "DOB >= '1961-01-01'"),
        ("le1960", "DOB < '1961-01-01'"),
        ("1960-01", "DOB >= '1960-01-01' AND DOB < '1960-02-01'"),
    ]
    .iter()
    .map(|(v, cond)| (format!("Patient?birthdate={v}"), p(cond)))
    .chain([
        (
            "Patient?birthdate:missing=true".to_string(),
            format!("SELECT pid FROM patient_data WHERE {}", no_date("DOB")),
        ),
        (
            "Patient?birthdate:missing=false".to_string(),
            format!("SELECT pid FROM patient_data WHERE {dob}"),
        ),
        (
            "Patient?birthdate=ge1959-12-31&birthdate=le1960-01-02".to_string(),
            p("DOB BETWEEN '1959-12-31' AND '1960-01-02'"),
        ),
    ])
    .collect();
    for app in apps().await {
        check_all(&app, &cases).await;
    }
}

#[tokio::test]
async fn death_date_and_deceased_on_a_datetime_with_zero_dates() {
    let dd = has_date("deceased_date");
    let p = |cond: &str| format!("SELECT pid FROM patient_data WHERE {dd} AND {cond}");
    let cases = vec![
        (
            "Patient?death-date=2024-02-29".to_string(),
            p("deceased_date >= '2024-02-29 00:00:00' AND deceased_date < '2024-03-01 00:00:00'"),
        ),
        (
            "Patient?death-date=lt2024-02-29".to_string(),
            p("deceased_date < '2024-02-29 00:00:00'"),
        ),
        (
            "Patient?death-date=ge2024-02-29".to_string(),
            p("deceased_date >= '2024-02-29 00:00:00'"),
        ),
        (
            "Patient?death-date=gt2019-08-01".to_string(),
            p("deceased_date >= '2019-08-02 00:00:00'"),
        ),
        (
            "Patient?death-date=2019-08-01T23:59:59".to_string(),
            p("deceased_date = '2019-08-01 23:59:59'"),
        ),
        (
            "Patient?death-date:missing=true".to_string(),
            format!(
                "SELECT pid FROM patient_data WHERE {}",
                no_date("deceased_date")
            ),
        ),
        // deceased = "deceased.exists() and deceased != false": a date of death, or nothing.
        (
            "Patient?deceased=true".to_string(),
            format!("SELECT pid FROM patient_data WHERE {dd}"),
        ),
        (
            "Patient?deceased=false".to_string(),
            format!(
                "SELECT pid FROM patient_data WHERE {}",
                no_date("deceased_date")
            ),
        ),
    ];
    for app in apps().await {
        check_all(&app, &cases).await;
    }
}

#[tokio::test]
async fn authoredon_on_a_date_column_with_zero_dates() {
    let sd = has_date("start_date");
    let p = |cond: &str| format!("SELECT id FROM prescriptions WHERE {sd} AND {cond}");
    let cases = vec![
        (
            "MedicationRequest?authoredon=lt2009-01-01".to_string(),
            p("start_date < '2009-01-01'"),
        ),
        (
            "MedicationRequest?authoredon=ge2009-01-01".to_string(),
            p("start_date >= '2009-01-01'"),
        ),
        (
            "MedicationRequest?authoredon=ne2009-01-01".to_string(),
            p("start_date <> '2009-01-01'"),
        ),
        (
            "MedicationRequest?authoredon=2009-01-01".to_string(),
            p("start_date = '2009-01-01'"),
        ),
        (
            "MedicationRequest?authoredon=2009".to_string(),
            p("start_date LIKE '2009-%'"),
        ),
        (
            "MedicationRequest?authoredon:missing=true".to_string(),
            format!(
                "SELECT id FROM prescriptions WHERE {}",
                no_date("start_date")
            ),
        ),
    ];
    for app in apps().await {
        check_all(&app, &cases).await;
    }
}

#[tokio::test]
async fn condition_onset_and_abatement_with_zero_and_blank_dates() {
    let onset = has_date("begdate");
    let end = has_date("enddate");
    let c = "SELECT id FROM lists WHERE type = 'medical_problem' AND";
    let cases = vec![
        // begdate is a DATETIME; one problem began exactly at midnight of 2020-03-01.
        (
            "Condition?onset-date=lt2020-03-01".to_string(),
            format!("{c} {onset} AND begdate < '2020-03-01 00:00:00'"),
        ),
        (
            "Condition?onset-date=ge2020-03-01".to_string(),
            format!("{c} {onset} AND begdate >= '2020-03-01 00:00:00'"),
        ),
        (
            "Condition?onset-date=2020-03-01".to_string(),
            format!(
                "{c} {onset} AND begdate >= '2020-03-01 00:00:00' AND begdate < '2020-03-02 00:00:00'"
            ),
        ),
        (
            "Condition?onset-date:missing=true".to_string(),
            format!("{c} {}", no_date("begdate")),
        ),
        // enddate is TEXT ('YYYY-MM-DD', '0000-00-00', '' or NULL).
        (
            "Condition?abatement-date=ge2023-01-01".to_string(),
            format!("{c} {end} AND enddate >= '2023-01-01'"),
        ),
        (
            "Condition?abatement-date=lt2023-01-01".to_string(),
            format!("{c} {end} AND enddate < '2023-01-01'"),
        ),
        (
            "Condition?abatement-date=2023-01-01".to_string(),
            format!("{c} {end} AND enddate = '2023-01-01'"),
        ),
        (
            "Condition?abatement-date:missing=true".to_string(),
            format!("{c} {}", no_date("enddate")),
        ),
        (
            "Condition?abatement-date:missing=false".to_string(),
            format!("{c} {end}"),
        ),
    ];
    for app in apps().await {
        check_all(&app, &cases).await;
    }
}

#[tokio::test]
async fn observation_date_across_a_date_and_a_datetime_source() {
    for app in apps().await {
        let db = &app.db;
        let lab = has_date("r.date");
        let vit = has_date("v.date");
        // The lab result at midnight of 2023-05-10 and the vitals taken that day match the
        // day; the result a second before midnight does not.
        let cases = [
            (
                "date=2023-05-10",
                format!(
                    "{lab} AND r.date >= '2023-05-10 00:00:00' AND r.date < '2023-05-11 00:00:00'"
                ),
                format!("{vit} AND v.date = '2023-05-10'"),
            ),
            (
                "date=lt2023-05-10",
                format!("{lab} AND r.date < '2023-05-10 00:00:00'"),
                format!("{vit} AND v.date < '2023-05-10'"),
            ),
            (
                "date=ge2023-05-10",
                format!("{lab} AND r.date >= '2023-05-10 00:00:00'"),
                format!("{vit} AND v.date >= '2023-05-10'"),
            ),
            (
                "date=ne2023-05-10",
                format!(
                    "{lab} AND NOT (r.date >= '2023-05-10 00:00:00' AND r.date < '2023-05-11 00:00:00')"
                ),
                format!("{vit} AND v.date <> '2023-05-10'"),
            ),
            (
                "date=2023-05-09T23:59:59",
                "r.date = '2023-05-09 23:59:59'".to_string(),
                "1 = 0".to_string(),
            ),
            ("date:missing=true", no_date("r.date"), no_date("v.date")),
        ];
        for (query, lab_cond, vitals_cond) in &cases {
            let want = observations(db, lab_cond, vitals_cond).await;
            app.check(&format!("Observation?{query}"), &want).await;
        }
    }
}

#[tokio::test]
async fn encounter_date_on_periods_with_open_ends() {
    // A zero or NULL date_end is an open end: the period reaches every later date.
    let open = no_date("date_end");
    let e = "SELECT encounter FROM form_encounter WHERE";
    let cases = vec![
        (
            "Encounter?date=lt2023-06-01".to_string(),
            format!("{e} date < '2023-06-01 00:00:00'"),
        ),
        (
            "Encounter?date=ge2023-06-01".to_string(),
            format!(
                "{e} date >= '2023-06-01 00:00:00' OR {open} OR date_end >= '2023-06-02 00:00:00'"
            ),
        ),
        (
            "Encounter?date=2023-06-01".to_string(),
            format!(
                "{e} date >= '2023-06-01 00:00:00' AND NOT {open} AND date_end < '2023-06-02 00:00:00'"
            ),
        ),
        (
            "Encounter?date=gt2024-01-01".to_string(),
            format!("{e} {open} OR date_end >= '2024-01-02 00:00:00'"),
        ),
    ];
    for app in apps().await {
        check_all(&app, &cases).await;
    }
}
