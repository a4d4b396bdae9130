//! FHIR XML answers: the same content as the JSON ones (read back to JSON, identical), in the
//! order and shape the FHIR definitions require (checked against the official JSON Schema's
//! element lists, and by libxml2). SQLite only: the format does not depend on the backend.

use fhir_facade::assemble::xml::read;
use reqwest::header::{ACCEPT, CONTENT_TYPE};
use serde_json::Value;

use crate::fhir_xml;
use crate::helpers::{TestApp, backends, spawn_app_on};

const FHIR_JSON: &str = "application/fhir+json";
const FHIR_XML: &str = "application/fhir+xml";

/// GET `path` with `accept`: status, content type, body.
async fn get(app: &TestApp, path: &str, accept: &str) -> (u16, String, String) {
    let res = app
        .client
        .get(format!("{}/{path}", app.base))
        .header(ACCEPT, accept)
        .send()
        .await
        .unwrap();
    let status = res.status().as_u16();
    let ct = res.headers()[CONTENT_TYPE].to_str().unwrap().to_owned();
    (status, ct, res.text().await.unwrap())
}

/// The XML answer, checked: its content type, structure, and JSON form.
fn xml_as_json(what: &str, ct: &str, xml: &str) -> Value {
    assert!(ct.starts_with(FHIR_XML), "{what}: content-type {ct}");
    fhir_xml::assert_structure(what, xml);
    read::from_str(xml).unwrap_or_else(|e| panic!("{what}: {e}\n{xml}"))
}

#[tokio::test]
async fn xml_answers_carry_exactly_the_json_content() {
    let app = spawn_app_on(&backends()[0]).await;
    let (_, _, cs) = get(&app, "metadata", FHIR_JSON).await;
    let cs: Value = serde_json::from_str(&cs).unwrap();
    let formats = cs["format"].as_array().unwrap();
    assert!(formats.iter().any(|f| f == "xml"), "{formats:?}");
    assert!(formats.iter().any(|f| f == FHIR_XML), "{formats:?}");

    let mut paths = vec!["metadata".to_owned()];
    for resource in cs["rest"][0]["resource"].as_array().unwrap() {
        let ty = resource["type"].as_str().unwrap();
        let search = format!("{ty}?_count=3");
        let (_, _, bundle) = get(&app, &search, FHIR_JSON).await;
        let bundle: Value = serde_json::from_str(&bundle).unwrap();
        // Every resource of the page, read one by one.
        for entry in bundle["entry"].as_array().unwrap() {
            paths.push(format!(
                "{ty}/{}",
                entry["resource"]["id"].as_str().unwrap()
            ));
        }
        paths.push(search);
    }
    paths.extend(
        [
            "Observation?_count=5&_total=accurate&_include=Observation:subject:Patient",
            "Patient?_id=1,2&_revinclude=Encounter:patient&_revinclude=Condition:subject",
            "Condition?_id=1&_include=Condition:encounter&_include:iterate=Encounter:patient",
            "Patient/5/$everything?_count=30",
            "Patient/5/Observation?_count=4",
            // Lenient handling: an OperationOutcome entry in the Bundle.
            "Patient?_count=2&no-such-param=x",
            "Patient?_summary=count",
            // Errors.
            "Foo/1",
            "Patient/no-such-patient",
            "Patient?gender:exact=male",
            "Patient?birthdate=notadate",
        ]
        .map(str::to_owned),
    );

    let mut docs = Vec::new();
    for path in &paths {
        let (js, _, json) = get(&app, path, FHIR_JSON).await;
        let (xs, ct, xml) = get(&app, path, FHIR_XML).await;
        assert_eq!(js, xs, "{path}");
        let json: Value = serde_json::from_str(&json).unwrap();
        assert_eq!(xml_as_json(path, &ct, &xml), json, "{path}");
        docs.push((path.clone(), xml));
    }
    // Pages after the first: the next link works the same in XML.
    let (_, _, first) = get(&app, "Observation?_count=4", FHIR_JSON).await;
    let first: Value = serde_json::from_str(&first).unwrap();
    let next = first["link"][1]["url"].as_str().unwrap();
    let next = next.strip_prefix(&format!("{}/", app.base)).unwrap();
    let (_, _, json) = get(&app, next, FHIR_JSON).await;
    let (_, ct, xml) = get(&app, next, FHIR_XML).await;
    assert_eq!(
        xml_as_json(next, &ct, &xml),
        serde_json::from_str::<Value>(&json).unwrap()
    );
    docs.push((next.to_owned(), xml));
    fhir_xml::xmllint(&docs);
}

#[tokio::test]
async fn format_parameter_pretty_post_search_and_errors_in_xml() {
    let app = spawn_app_on(&backends()[0]).await;
    let (_, _, expected) = get(&app, "Patient?gender=female&_count=3", FHIR_JSON).await;
    let expected: Value = serde_json::from_str(&expected).unwrap();
    let without_self = |mut v: Value| {
        v["link"][0].take();
        v
    };

    // _format wins over Accept; `application/xml` and `text/xml` answer plain XML.
    for (format, ct) in [
        ("xml", FHIR_XML),
        ("application/fhir%2Bxml", FHIR_XML),
        ("application/xml", "application/xml"),
        ("text/xml", "application/xml"),
    ] {
        let path = format!("Patient?gender=female&_count=3&_format={format}");
        let (s, got_ct, xml) = get(&app, &path, FHIR_JSON).await;
        assert_eq!(s, 200, "{path}");
        assert!(got_ct.starts_with(ct), "{path}: {got_ct}");
        fhir_xml::assert_structure(&path, &xml);
        let got = read::from_str(&xml).unwrap();
        assert_eq!(without_self(got), without_self(expected.clone()), "{path}");
    }

    // _pretty indents, and the content stays the same.
    let (_, ct, pretty) = get(&app, "Patient/1?_format=xml&_pretty=true", FHIR_JSON).await;
    let (_, _, compact) = get(&app, "Patient/1?_format=xml", FHIR_JSON).await;
    assert!(pretty.contains("\n  <id value=\"1\"/>"), "{pretty}");
    assert!(!compact.contains('\n'), "{compact}");
    assert_eq!(
        xml_as_json("pretty", &ct, &pretty),
        read::from_str(&compact).unwrap()
    );

    // POST _search takes the same form body whatever the answer's format (_format in the
    // body too).
    for (accept, body) in [
        (FHIR_XML, "gender=female&_count=3"),
        (FHIR_JSON, "gender=female&_count=3&_format=xml"),
    ] {
        let res = app
            .client
            .post(format!("{}/Patient/_search", app.base))
            .header(ACCEPT, accept)
            .header(CONTENT_TYPE, "application/x-www-form-urlencoded")
            .body(body)
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 200, "{body}");
        let ct = res.headers()[CONTENT_TYPE].to_str().unwrap().to_owned();
        let got = xml_as_json(body, &ct, &res.text().await.unwrap());
        assert_eq!(
            without_self(got),
            without_self(expected.clone()),
            "{accept} {body}"
        );
    }

    // Errors answered before a handler runs (the URL too long), by a handler, and by the
    // router are OperationOutcomes in XML too; 406 stays JSON (XML is what was refused).
    let long = format!("Patient?_format=xml&name={}", "a".repeat(20_000));
    for (path, status) in [
        (long.as_str(), 414),
        ("Patient?_format=xml&_count=x", 400),
        ("Patient/1/nope/more/segments?_format=xml", 404),
        ("Patient/1?_format=xml&_pretty=maybe", 400),
    ] {
        let (s, ct, xml) = get(&app, path, FHIR_JSON).await;
        assert_eq!(s, status, "{path}: {xml}");
        let outcome = xml_as_json(&path[..path.len().min(60)], &ct, &xml);
        assert_eq!(outcome["resourceType"], "OperationOutcome");
        assert_eq!(outcome["issue"][0]["severity"], "error");
    }
    let (s, ct, body) = get(&app, "Patient/1?_format=ttl", FHIR_XML).await;
    assert_eq!(s, 406);
    assert!(ct.starts_with(FHIR_JSON), "{ct}");
    assert!(body.contains("_format=xml"), "{body}");
    let res = app
        .client
        .delete(format!("{}/Patient/1?_format=xml", app.base))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 405);
    assert_eq!(res.headers()["allow"], "GET, HEAD");
    let ct = res.headers()[CONTENT_TYPE].to_str().unwrap().to_owned();
    xml_as_json("DELETE", &ct, &res.text().await.unwrap());
}

#[test]
fn the_structure_check_finds_what_fhir_xml_does_not_allow() {
    let patient = |inner: &str| {
        format!(r#"<?xml version="1.0"?><Patient xmlns="http://hl7.org/fhir">{inner}</Patient>"#)
    };
    assert_eq!(
        fhir_xml::check_structure(&patient(r#"<id value="1"/><gender value="male"/>"#)),
        Ok(())
    );
    for (inner, why) in [
        (
            r#"<gender value="male"/><id value="1"/>"#,
            "id after gender",
        ),
        (
            r#"<gender value="male"/><gender value="male"/>"#,
            "repeated",
        ),
        (
            r#"<name><given value="A"/><family value="B"/></name>"#,
            "family after given",
        ),
        (r#"<name><id value="n"/></name>"#, "must be an attribute"),
        (r#"<nope value="x"/>"#, "no element nope"),
        (r#"<gender/>"#, "neither value nor extension"),
        (
            r#"<contained><id value="x"/></contained>"#,
            "not a resource type",
        ),
        (
            r#"<text><status value="generated"/><div>x</div></text>"#,
            "XHTML namespace",
        ),
        (
            r#"<extension><url value="u"/></extension>"#,
            "url must be an attribute",
        ),
    ] {
        let got = fhir_xml::check_structure(&patient(inner));
        assert!(
            got.as_ref().is_err_and(|e| e.contains(why)),
            "{inner}: {got:?}"
        );
    }
}
