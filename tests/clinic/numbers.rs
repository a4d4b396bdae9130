//! Quantity searches on numbers stored as text (lab results, pulse, blood pressure), with words
//! and blanks among them, and on a FLOAT (weight). Expected matches are computed here from the
//! stored values (read with SQL on the SQLite copy).

use std::collections::BTreeSet;

use crate::app::{App, apps};

/// A search number: prefix and value, with the implicit range of its precision for `eq`.
struct Search {
    prefix: String,
    value: f64,
    half: f64,
}

impl Search {
    fn parse(s: &str) -> (Search, &str) {
        let (prefix, rest) = match s.get(..2) {
            Some(p @ ("gt" | "lt" | "ge" | "le" | "ne" | "eq")) => (p.to_string(), &s[2..]),
            _ => ("eq".to_string(), s),
        };
        let number = rest.split('|').next().unwrap();
        let decimals = number.split_once('.').map_or(0, |(_, d)| d.len());
        let half = 0.5 * 10f64.powi(-(decimals as i32));
        (
            Search {
                prefix,
                value: number.parse().unwrap(),
                half,
            },
            rest,
        )
    }

    fn matches(&self, v: f64) -> bool {
        let (lo, hi) = (self.value - self.half, self.value + self.half);
        match self.prefix.as_str() {
            "eq" => v >= lo && v < hi,
            "ne" => !(v >= lo && v < hi),
            "gt" => v > self.value,
            "lt" => v < self.value,
            "ge" => v >= self.value,
            "le" => v <= self.value,
            _ => unreachable!(),
        }
    }
}

/// A number stored as text (digits with one optional decimal point).
fn stored_number(v: &Option<String>) -> Option<f64> {
    let v = v.as_deref()?.trim();
    let ok = !v.is_empty()
        && v.starts_with(|c: char| c.is_ascii_digit())
        && v.chars().all(|c| c.is_ascii_digit() || c == '.')
        && v.matches('.').count() <= 1;
    ok.then(|| v.parse().unwrap())
}

/// `(id, numbers…)` rows of `sql` (first column the id).
async fn numbers(app: &App, sql: &str) -> Vec<(String, Vec<Option<f64>>)> {
    app.rows(sql)
        .await
        .into_iter()
        .map(|r| {
            (
                r[0].clone().unwrap(),
                r[1..].iter().map(stored_number).collect(),
            )
        })
        .collect()
}

#[tokio::test]
async fn value_quantity_on_numbers_stored_as_text_and_floats() {
    for app in apps().await {
        let labs = numbers(
            &app,
            "SELECT 'lab-' || procedure_result_id, result, units FROM procedure_result",
        )
        .await;
        let units: std::collections::BTreeMap<String, String> = app
            .rows("SELECT 'lab-' || procedure_result_id, units FROM procedure_result")
            .await
            .into_iter()
            .map(|r| (r[0].clone().unwrap(), r[1].clone().unwrap()))
            .collect();
        let pulses = numbers(
            &app,
            "SELECT 'pulse-' || id, pulse FROM form_vitals WHERE activity = 1 AND pulse <> ''",
        )
        .await;
        let weights = numbers(
            &app,
            "SELECT 'wt-' || id, CAST(weight AS TEXT) FROM form_vitals WHERE activity = 1 AND weight > 0",
        )
        .await;
        assert!(
            labs.iter().any(|(_, v)| v[0].is_none()),
            "words among the results"
        );
        for query in [
            "gt100", "lt1", "ge250", "7.2", "1.1", "72", "le130.5", "ne98", "eq0.9", "6.5",
        ] {
            let (search, _) = Search::parse(query);
            let want: BTreeSet<String> = labs
                .iter()
                .chain(&pulses)
                .chain(&weights)
                .filter(|(_, v)| v[0].is_some_and(|v| search.matches(v)))
                .map(|(id, _)| id.clone())
                .collect();
            app.check(&format!("Observation?value-quantity={query}"), &want)
                .await;
        }
        // With a unit: the lab results in mg/dL (their unit text).
        let (search, _) = Search::parse("gt150");
        let want: BTreeSet<String> = labs
            .iter()
            .filter(|(id, v)| units[id] == "mg/dL" && v[0].is_some_and(|v| search.matches(v)))
            .map(|(id, _)| id.clone())
            .collect();
        assert!(!want.is_empty());
        app.check("Observation?value-quantity=gt150||mg/dL", &want)
            .await;
    }
}

#[tokio::test]
async fn blood_pressure_components_stored_as_text() {
    for app in apps().await {
        let bp = numbers(
            &app,
            "SELECT 'bp-' || id, bps, bpd FROM form_vitals WHERE activity = 1 AND bps <> '' AND bpd <> ''",
        )
        .await;
        for query in ["gt140", "lt70", "ge160", "80"] {
            let (search, _) = Search::parse(query);
            let want: BTreeSet<String> = bp
                .iter()
                .filter(|(_, v)| v.iter().any(|v| v.is_some_and(|v| search.matches(v))))
                .map(|(id, _)| id.clone())
                .collect();
            app.check(
                &format!("Observation?component-value-quantity={query}"),
                &want,
            )
            .await;
        }
        // The systolic value alone (the component's code with its value).
        for (code, column, query) in [("8480-6", 0, "gt140"), ("8462-4", 1, "lt70")] {
            let (search, _) = Search::parse(query);
            let want: BTreeSet<String> = bp
                .iter()
                .filter(|(_, v)| v[column].is_some_and(|v| search.matches(v)))
                .map(|(id, _)| id.clone())
                .collect();
            app.check(
                &format!(
                    "Observation?component-code-value-quantity=http://loinc.org|{code}${query}"
                ),
                &want,
            )
            .await;
        }
    }
}

/// Weights are single-precision FLOATs on MariaDB (`FLOAT(5,2)`) and PostgreSQL (`REAL`):
/// 179.7 is stored as 179.6999969…, yet a patient weighed 179.7 lb is `ge179.7` and `le179.7`.
#[tokio::test]
async fn value_quantity_on_single_precision_floats() {
    for app in apps().await {
        let weights = numbers(
            &app,
            "SELECT 'wt-' || id, CAST(weight AS TEXT) FROM form_vitals WHERE activity = 1 AND weight > 0",
        )
        .await;
        let stored: BTreeSet<String> = weights
            .iter()
            .filter_map(|(_, v)| v[0])
            .filter(|w| w.fract() != 0.0 && w.fract() != 0.5)
            .map(|w| format!("{w:.1}"))
            .take(4)
            .collect();
        assert!(stored.len() >= 3, "{stored:?}");
        for w in &stored {
            for prefix in ["ge", "le", "eq", "gt", "lt"] {
                let query = format!("{prefix}{w}");
                let (search, _) = Search::parse(&query);
                let want: BTreeSet<String> = weights
                    .iter()
                    .filter(|(_, v)| v[0].is_some_and(|v| search.matches(v)))
                    .map(|(id, _)| id.clone())
                    .collect();
                app.check(
                    &format!("Observation?code=http://loinc.org|29463-7&value-quantity={query}"),
                    &want,
                )
                .await;
            }
        }
    }
}
