use crate::helpers::spawn_apps;

#[tokio::test]
async fn capability_statement_lists_exactly_the_mapped_types_and_read() {
    for app in spawn_apps().await {
        let (status, cs) = app.get("metadata").await;
        assert_eq!(status, 200);
        crate::fhir_schema::assert_valid(&cs);
        assert_eq!(cs["resourceType"], "CapabilityStatement");
        assert_eq!(cs["fhirVersion"], "4.0.1");
        assert_eq!(cs["status"], "active");
        assert_eq!(cs["kind"], "instance");
        assert!(cs["format"].as_array().unwrap().iter().any(|f| f == "json"));
        let rest = &cs["rest"][0];
        assert_eq!(rest["mode"], "server");
        let types: Vec<&str> = rest["resource"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r["type"].as_str().unwrap())
            .collect();
        assert_eq!(
            types,
            [
                "Patient",
                "Practitioner",
                "Organization",
                "Encounter",
                "Condition",
                "Observation",
                "MedicationRequest"
            ]
        );
        for r in rest["resource"].as_array().unwrap() {
            // Read and search-type work; nothing else may be advertised.
            assert_eq!(
                r["interaction"],
                serde_json::json!([{"code": "read"}, {"code": "search-type"}]),
                "{r}"
            );
            // Only reference parameters can be included (see include.rs for the lists).
            for key in ["searchInclude", "searchRevInclude"] {
                for v in r.get(key).and_then(|v| v.as_array()).into_iter().flatten() {
                    assert!(v.as_str().unwrap().contains(':'), "{v}");
                }
            }
            for p in r["searchParam"].as_array().unwrap() {
                let t = p["type"].as_str().unwrap();
                assert!(
                    [
                        "token",
                        "string",
                        "reference",
                        "number",
                        "quantity",
                        "date",
                        "uri",
                        "composite"
                    ]
                    .contains(&t),
                    "{p}"
                );
                assert!(
                    p["definition"]
                        .as_str()
                        .unwrap()
                        .starts_with("http://hl7.org/fhir/SearchParameter/")
                );
                assert!(p["documentation"].as_str().unwrap().contains("odifiers"));
            }
        }
        let names = |i: usize| -> Vec<String> {
            rest["resource"][i]["searchParam"]
                .as_array()
                .unwrap()
                .iter()
                .map(|p| p["name"].as_str().unwrap().to_string())
                .collect()
        };
        for p in ["_id", "identifier", "family", "given", "name", "gender"] {
            assert!(names(0).contains(&p.to_string()), "Patient {p}");
        }
        for p in [
            "code",
            "patient",
            "category",
            "value-quantity",
            "code-value-quantity",
            "component-code-value-quantity",
            "combo-code-value-quantity",
        ] {
            assert!(names(5).contains(&p.to_string()), "Observation {p}");
        }
        let patient = &rest["resource"][0];
        assert_eq!(patient["versioning"], "versioned");
        assert_eq!(patient["conditionalRead"], "full-support");
        // Observation has vital-sign sources without a last-modified column.
        let obs = &rest["resource"][5];
        assert_eq!(obs["conditionalRead"], "not-supported");
        assert!(
            cs["implementation"]["url"]
                .as_str()
                .unwrap()
                .ends_with("/fhir")
        );
    }
}

#[tokio::test]
async fn metadata_honours_format_and_pretty() {
    for app in spawn_apps().await {
        let res = app
            .client
            .get(format!("{}/metadata?_format=json&_pretty=true", app.base))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 200);
        assert!(
            res.headers()["content-type"]
                .to_str()
                .unwrap()
                .starts_with("application/fhir+json")
        );
        let text = res.text().await.unwrap();
        assert!(
            text.contains("\n  \"resourceType\""),
            "pretty output expected"
        );
    }
}

#[tokio::test]
async fn advertised_chains_compartments_and_everything_work() {
    for app in spawn_apps().await {
        let (_, cs) = app.get("metadata").await;
        let rest = &cs["rest"][0];
        assert_eq!(
            rest["compartment"],
            serde_json::json!(["http://hl7.org/fhir/CompartmentDefinition/patient"])
        );
        let mut checked = 0;
        let mut compartment_types = Vec::new();
        for r in rest["resource"].as_array().unwrap() {
            let rt = r["type"].as_str().unwrap();
            let mut queries = Vec::new();
            for p in r["searchParam"].as_array().unwrap() {
                let doc = p["documentation"].as_str().unwrap();
                if p["type"] == "reference" {
                    // The chain example names a real chain.
                    let example = doc
                        .split('`')
                        .nth(1)
                        .unwrap_or_else(|| panic!("{rt}.{}: no chain example", p["name"]));
                    queries.push(format!("{rt}?{example}:missing=false"));
                }
            }
            let doc = r["documentation"].as_str().unwrap_or_default();
            for part in doc.split('`').skip(1).step_by(2) {
                if let Some(prefix) = part.strip_suffix("[parameter]") {
                    // `_has:Type:param:` + any parameter of Type.
                    let ty = prefix.split(':').nth(1).unwrap();
                    let other = rest["resource"]
                        .as_array()
                        .unwrap()
                        .iter()
                        .find(|x| x["type"] == ty)
                        .unwrap();
                    let first = other["searchParam"][0]["name"].as_str().unwrap();
                    queries.push(format!("{rt}?{prefix}{first}:missing=false"));
                } else if part.starts_with("Patient/[id]/") {
                    compartment_types.push(rt.to_string());
                    queries.push(format!("Patient/1/{rt}"));
                }
            }
            for q in queries {
                let sep = if q.contains('?') { '&' } else { '?' };
                let (status, body) = app.get(&format!("{q}{sep}_count=1")).await;
                assert_eq!(status, 200, "{}: {q}: {body}", app.dialect);
                checked += 1;
            }
        }
        assert_eq!(
            compartment_types,
            ["Encounter", "Condition", "Observation", "MedicationRequest"]
        );
        assert!(checked > 20, "{checked}");
        let patient = &rest["resource"][0];
        assert_eq!(patient["operation"][0]["name"], "everything");
        assert_eq!(
            patient["operation"][0]["definition"],
            "http://hl7.org/fhir/OperationDefinition/Patient-everything"
        );
        let (status, body) = app.get("Patient/1/$everything").await;
        assert_eq!(status, 200, "{body}");
    }
}
