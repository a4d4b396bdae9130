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
            // Only read works today: nothing else may be advertised.
            assert_eq!(
                r["interaction"],
                serde_json::json!([{"code": "read"}]),
                "{r}"
            );
            assert!(r.get("searchParam").is_none(), "{r}");
            assert!(r.get("searchInclude").is_none());
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
