use serde_json::{Value as Json, json};

use super::{XmlError, read, to_string};

const DIV: &str = r#"<div xmlns="http://www.w3.org/1999/xhtml"><p>Ann &amp; <b>Bo</b> &lt;3 &#233;</p><br/></div>"#;

/// Writes `resource` (compact and indented), reads both back, and checks they give `resource`.
fn round_trip(resource: &Json) -> String {
    let compact = to_string(resource, false).unwrap();
    let pretty = to_string(resource, true).unwrap();
    assert_eq!(&read::from_str(&compact).unwrap(), resource, "{compact}");
    assert_eq!(&read::from_str(&pretty).unwrap(), resource, "{pretty}");
    compact
}

fn decimal(literal: &str) -> Json {
    Json::Number(literal.parse().unwrap())
}

fn body(xml: &str) -> &str {
    xml.strip_prefix(r#"<?xml version="1.0" encoding="UTF-8"?>"#)
        .expect("declaration")
}

#[test]
fn elements_follow_the_definition_order_whatever_the_json_order() {
    // Keys in an order FHIR XML does not allow: inherited elements last, data type elements
    // reversed.
    let patient = json!({
        "gender": "female",
        "name": [{"given": ["Ann"], "family": "Lee", "use": "official"}],
        "identifier": [{"value": "123", "system": "urn:x"}],
        "text": {"div": DIV, "status": "generated"},
        "meta": {"lastUpdated": "2024-01-02T03:04:05Z", "versionId": "1"},
        "id": "p1",
        "resourceType": "Patient",
    });
    let xml = round_trip(&patient);
    assert_eq!(
        body(&xml),
        format!(
            concat!(
                r#"<Patient xmlns="http://hl7.org/fhir"><id value="p1"/>"#,
                r#"<meta><versionId value="1"/><lastUpdated value="2024-01-02T03:04:05Z"/></meta>"#,
                r#"<text><status value="generated"/>{}</text>"#,
                r#"<identifier><system value="urn:x"/><value value="123"/></identifier>"#,
                r#"<name><use value="official"/><family value="Lee"/><given value="Ann"/></name>"#,
                r#"<gender value="female"/></Patient>"#
            ),
            DIV
        )
    );
}

#[test]
fn primitive_ids_and_extensions_and_arrays_with_gaps() {
    let patient = json!({
        "resourceType": "Patient",
        "id": "p2",
        "extension": [{"url": "http://example.org/a", "valueBoolean": true}],
        "active": false,
        "_active": {"id": "a1"},
        "name": [{
            "id": "n1",
            "given": ["Ann", null, "Cy"],
            "_given": [null, {"extension": [{"url": "http://example.org/absent", "valueCode": "unknown"}]}, {"id": "g3"}],
        }],
        "_birthDate": {"extension": [{"url": "http://hl7.org/fhir/StructureDefinition/data-absent-reason", "valueCode": "masked"}]},
        "multipleBirthInteger": 2,
    });
    let xml = round_trip(&patient);
    assert!(
        xml.contains(r#"<extension url="http://example.org/a"><valueBoolean value="true"/></extension><active id="a1" value="false"/>"#),
        "{xml}"
    );
    assert!(
        xml.contains(concat!(
            r#"<name id="n1"><given value="Ann"/>"#,
            r#"<given><extension url="http://example.org/absent"><valueCode value="unknown"/></extension></given>"#,
            r#"<given id="g3" value="Cy"/></name>"#
        )),
        "{xml}"
    );
    assert!(xml.contains(r#"<birthDate><extension url="http://hl7.org/fhir/StructureDefinition/data-absent-reason">"#), "{xml}");
    assert!(
        xml.contains(r#"<multipleBirthInteger value="2"/>"#),
        "{xml}"
    );
}

#[test]
fn choice_types_numbers_and_backbone_elements() {
    let observation = json!({
        "resourceType": "Observation",
        "id": "o1",
        "status": "final",
        "code": {"coding": [{"system": "http://loinc.org", "code": "8480-6"}], "text": "Systolic"},
        "subject": {"reference": "Patient/p1", "display": "Ann"},
        "effectivePeriod": {"start": "2024-01-01", "end": "2024-01-02"},
        "valueQuantity": {"value": decimal("120.50"), "unit": "mmHg", "system": "http://unitsofmeasure.org", "code": "mm[Hg]"},
        "component": [
            {"code": {"text": "a"}, "valueInteger": 7},
            {"code": {"text": "b"}, "valueString": "line 1\nline 2\t\"quoted\" <tag> & 'x'"},
        ],
    });
    let xml = round_trip(&observation);
    // Decimals keep their digits; newlines and tabs survive in attributes.
    assert!(xml.contains(r#"<value value="120.50"/>"#), "{xml}");
    assert!(xml.contains("&#10;") && xml.contains("&#9;"), "{xml}");
    assert!(
        xml.contains(r#"<subject><reference value="Patient/p1"/><display value="Ann"/></subject><effectivePeriod><start value="2024-01-01"/><end value="2024-01-02"/></effectivePeriod><valueQuantity>"#),
        "{xml}"
    );
}

#[test]
fn nested_resources_are_wrapped_in_their_element() {
    let bundle = json!({
        "resourceType": "Bundle",
        "type": "searchset",
        "total": 1,
        "link": [{"relation": "self", "url": "http://h/fhir/Patient?_count=1&name=a"}],
        "entry": [
            {
                "fullUrl": "http://h/fhir/Patient/p1",
                "resource": {
                    "resourceType": "Patient",
                    "id": "p1",
                    "contained": [{"resourceType": "Organization", "id": "o", "name": "Clinic"}],
                    "managingOrganization": {"reference": "#o"},
                },
                "search": {"mode": "match"},
            },
            {
                "resource": {
                    "resourceType": "OperationOutcome",
                    "issue": [{"severity": "warning", "code": "not-supported", "diagnostics": "x"}],
                },
                "search": {"mode": "outcome"},
            },
        ],
    });
    let xml = round_trip(&bundle);
    assert!(
        xml.contains(r#"<resource><Patient><id value="p1"/><contained><Organization><id value="o"/><name value="Clinic"/></Organization></contained><managingOrganization>"#),
        "{xml}"
    );
    assert!(
        xml.contains(r#"url value="http://h/fhir/Patient?_count=1&amp;name=a""#),
        "{xml}"
    );
    // The namespace is declared once, on the root.
    assert_eq!(xml.matches("xmlns=").count(), 1, "{xml}");

    let parameters = json!({
        "resourceType": "Parameters",
        "parameter": [
            {"name": "p", "resource": {"resourceType": "Patient", "id": "x"}},
            {"name": "q", "part": [{"name": "r", "valueCode": "c"}, {"name": "s", "part": [{"name": "t", "valueDecimal": decimal("1.0")}]}]},
        ],
    });
    round_trip(&parameters);
}

#[test]
fn pretty_indents_by_two_spaces_and_keeps_the_narrative_as_written() {
    let patient = json!({
        "resourceType": "Patient",
        "id": "p1",
        "text": {"status": "generated", "div": DIV},
        "name": [{"family": "Lee"}],
    });
    let xml = to_string(&patient, true).unwrap();
    assert_eq!(
        xml,
        format!(
            concat!(
                "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n",
                "<Patient xmlns=\"http://hl7.org/fhir\">\n",
                "  <id value=\"p1\"/>\n",
                "  <text>\n",
                "    <status value=\"generated\"/>\n",
                "    {}\n",
                "  </text>\n",
                "  <name>\n",
                "    <family value=\"Lee\"/>\n",
                "  </name>\n",
                "</Patient>"
            ),
            DIV
        )
    );
}

#[test]
fn narratives_that_are_not_xhtml_still_give_well_formed_xml() {
    let with =
        |div: &str| json!({"resourceType": "Patient", "text": {"status": "generated", "div": div}});
    // No namespace: added.
    let xml = to_string(&with("<div><p>x</p></div>"), false).unwrap();
    assert!(xml.contains(r#"<text><status value="generated"/><div xmlns="http://www.w3.org/1999/xhtml"><p>x</p></div></text>"#), "{xml}");
    // Not well-formed, HTML entities, another root, another namespace: kept as text.
    for div in [
        "<div><p>x</div>",
        "<div>a&nbsp;b</div>",
        "<p>x</p>",
        "plain text",
        "<div xmlns=\"http://example.org\">x</div>",
        "<div>x</div><div>y</div>",
        "<div>\u{1}</div>",
    ] {
        let xml = to_string(&with(div), false).unwrap();
        let back = read::from_str(&xml).unwrap_or_else(|e| panic!("{div}: {e}\n{xml}"));
        let text = back["text"]["div"].as_str().unwrap();
        assert!(
            text.starts_with(r#"<div xmlns="http://www.w3.org/1999/xhtml">"#) && text != div,
            "{div} → {text}"
        );
    }
}

#[test]
fn characters_xml_cannot_hold_are_replaced() {
    let patient = json!({"resourceType": "Patient", "name": [{"family": "a\u{1}b"}]});
    let xml = to_string(&patient, false).unwrap();
    assert!(xml.contains("<family value=\"a\u{FFFD}b\"/>"), "{xml}");
}

#[test]
fn what_is_not_fhir_is_an_error_naming_the_element() {
    let err = |v: Json| match to_string(&v, false) {
        Err(XmlError::Json { path, reason }) => format!("{path}: {reason}"),
        other => panic!("{other:?}"),
    };
    assert_eq!(
        err(json!({"resourceType": "Patient", "name": [{"famly": "x"}]})),
        "Patient.name.famly: HumanName has no element `famly`"
    );
    assert_eq!(
        err(json!({"resourceType": "Patient", "contact": [{"nme": {}}]})),
        "Patient.contact.nme: Patient.contact has no element `nme`"
    );
    assert_eq!(
        err(json!({"resourceType": "Nope"})),
        "Nope: unknown resource type"
    );
    assert_eq!(
        err(json!({"name": "x"})),
        "resource: a resource without resourceType"
    );
    assert!(err(json!({"resourceType": "Patient", "name": ["x"]})).contains("Patient.name"));
}

#[test]
fn the_reader_refuses_what_is_not_fhir_xml() {
    for xml in [
        r#"<Patient><id value="x"/></Patient>"#,
        r#"<Patient xmlns="http://hl7.org/fhir"><nope value="x"/></Patient>"#,
        r#"<Patient xmlns="http://hl7.org/fhir"><gender value="a"/><gender value="b"/></Patient>"#,
        r#"<Patient xmlns="http://hl7.org/fhir"><active value="yes"/></Patient>"#,
        r#"<Patient xmlns="http://hl7.org/fhir"><id value="x"/>"#,
    ] {
        assert!(read::from_str(xml).is_err(), "{xml}");
    }
}
