//! The clinic sample in XML: the first page of every type, read back from the XML answer,
//! equals the JSON answer (legacy values included: zero dates, odd codes, decimals), and
//! follows the FHIR definitions' element order.

use fhir_facade::assemble::xml::read;
use serde_json::Value;

use crate::app::{App, apps};

async fn get(app: &App, path: &str, accept: &str) -> String {
    let res = app
        .client
        .get(format!("{}/{path}", app.base))
        .header("accept", accept)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200, "{path} as {accept}");
    res.text().await.unwrap()
}

#[tokio::test]
async fn every_type_reads_back_from_xml_as_its_json() {
    // SQLite is enough: every backend answers the same JSON (see read.rs).
    let app = &apps().await[0];
    let (_, cs) = app.get("metadata").await;
    for resource in cs["rest"][0]["resource"].as_array().unwrap() {
        let path = format!("{}?_count=200", resource["type"].as_str().unwrap());
        let json: Value =
            serde_json::from_str(&get(app, &path, "application/fhir+json").await).unwrap();
        let xml = get(app, &path, "application/fhir+xml").await;
        crate::fhir_xml::assert_structure(&path, &xml);
        let back = read::from_str(&xml).unwrap_or_else(|e| panic!("{path}: {e}"));
        assert_eq!(back, json, "{path}");
    }
}
