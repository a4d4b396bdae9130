//! Unit tests of the embedded FHIR R4 definitions.

use super::*;

fn defs() -> &'static Definitions {
    Definitions::r4()
}

fn resolve(ty: &str, path: &str) -> ResolvedPath {
    defs()
        .resolve(ty, path)
        .unwrap_or_else(|e| panic!("{ty} {path}: {e}"))
}

fn resolve_err(ty: &str, path: &str) -> PathError {
    match defs().resolve(ty, path) {
        Ok(p) => panic!("{ty} {path} resolved unexpectedly: {p:?}"),
        Err(e) => e,
    }
}

/// `(name, type_code, repeats, index)` of each segment.
fn summary(p: &ResolvedPath) -> Vec<(String, String, bool, Option<usize>)> {
    p.segments
        .iter()
        .map(|s| (s.name.clone(), s.type_code.clone(), s.repeats, s.index))
        .collect()
}

fn seg(
    name: &str,
    ty: &str,
    repeats: bool,
    index: Option<usize>,
) -> (String, String, bool, Option<usize>) {
    (name.to_owned(), ty.to_owned(), repeats, index)
}

#[test]
fn resource_types() {
    let d = defs();
    assert!(d.is_resource_type("Patient"));
    assert!(d.is_resource_type("Observation"));
    assert!(d.is_resource_type("Bundle"));
    assert!(!d.is_resource_type("Resource"), "abstract");
    assert!(!d.is_resource_type("DomainResource"), "abstract");
    assert!(!d.is_resource_type("HumanName"));
    assert!(!d.is_resource_type("patient"));
    let all: Vec<&str> = d.resource_types().collect();
    assert_eq!(all.len(), 146);
    assert!(all.windows(2).all(|w| w[0] < w[1]), "sorted");
}

#[test]
fn primitive_and_complex_types() {
    let d = defs();
    let prims: Vec<&str> = d.primitive_types().collect();
    for p in [
        "boolean",
        "integer",
        "string",
        "decimal",
        "uri",
        "url",
        "canonical",
        "base64Binary",
        "instant",
        "date",
        "dateTime",
        "time",
        "code",
        "oid",
        "id",
        "markdown",
        "unsignedInt",
        "positiveInt",
        "uuid",
        "xhtml",
    ] {
        assert!(prims.contains(&p), "{p}");
    }
    assert_eq!(prims.len(), 20);
    for t in [
        "HumanName",
        "Identifier",
        "CodeableConcept",
        "Coding",
        "Quantity",
        "Age",
        "Duration",
        "Distance",
        "Count",
        "SimpleQuantity",
        "Period",
        "Range",
        "Ratio",
        "Address",
        "ContactPoint",
        "Reference",
        "Annotation",
        "Attachment",
        "Timing",
        "Dosage",
        "Meta",
        "Narrative",
        "Extension",
        "SampledData",
        "Signature",
        "Money",
    ] {
        assert!(d.is_complex_type(t), "{t}");
    }
    assert!(!d.is_complex_type("string"));
    let age: Vec<&str> = d
        .elements("Age")
        .unwrap()
        .iter()
        .map(|e| e.path.as_str())
        .collect();
    assert_eq!(
        age,
        [
            "id",
            "extension",
            "value",
            "comparator",
            "unit",
            "system",
            "code"
        ]
    );
}

#[test]
fn resolve_patient_paths() {
    let p = resolve("Patient", "name[0].given[1]");
    assert_eq!(
        summary(&p),
        [
            seg("name", "HumanName", true, Some(0)),
            seg("given", "string", true, Some(1))
        ]
    );
    assert_eq!(p.root_type, "Patient");
    assert_eq!(p.segments[0].element_path, "Patient.name");
    assert_eq!(p.segments[1].element_path, "HumanName.given");
    assert!(p.leaf().is_primitive);

    let p = resolve("Patient", "birthDate");
    assert_eq!(summary(&p), [seg("birthDate", "date", false, None)]);
    assert_eq!((p.leaf().min, p.leaf().max.as_str()), (0, "1"));

    let p = resolve("Patient", "gender");
    let b = p.leaf().binding.clone().unwrap();
    assert_eq!(b.strength, BindingStrength::Required);
    assert_eq!(
        b.value_set.as_deref(),
        Some("http://hl7.org/fhir/ValueSet/administrative-gender")
    );

    let p = resolve("Patient", "contact.name.family");
    assert_eq!(
        summary(&p),
        [
            seg("contact", "BackboneElement", true, None),
            seg("name", "HumanName", false, None),
            seg("family", "string", false, None)
        ]
    );
    assert_eq!(p.segments[1].element_path, "Patient.contact.name");

    let p = resolve("Patient", "id");
    assert_eq!(p.leaf().type_code, "id");
    let p = resolve("Patient", "meta.lastUpdated");
    assert_eq!(
        summary(&p),
        [
            seg("meta", "Meta", false, None),
            seg("lastUpdated", "instant", false, None)
        ]
    );

    let p = resolve("Patient", "managingOrganization.reference");
    assert_eq!(p.segments[0].type_code, "Reference");
    assert_eq!(p.segments[0].target_types, ["Organization"]);
    assert_eq!(p.leaf().type_code, "string");

    let p = resolve("Patient", "generalPractitioner[0]");
    assert_eq!(
        p.leaf().target_types,
        ["Organization", "Practitioner", "PractitionerRole"]
    );

    let p = resolve("Patient", "address[0].line[0]");
    assert_eq!(p.leaf().type_code, "string");
    let p = resolve("Patient", "telecom[2].system");
    assert_eq!(
        p.leaf().binding.as_ref().unwrap().value_set.as_deref(),
        Some("http://hl7.org/fhir/ValueSet/contact-point-system")
    );
}

#[test]
fn resolve_choice_elements() {
    let p = resolve("Patient", "deceasedBoolean");
    assert_eq!(
        summary(&p),
        [seg("deceasedBoolean", "boolean", false, None)]
    );
    assert!(p.leaf().is_choice);
    assert_eq!(p.leaf().element_path, "Patient.deceased[x]");
    assert_eq!(
        resolve("Patient", "deceasedDateTime").leaf().type_code,
        "dateTime"
    );
    assert_eq!(
        resolve("Patient", "multipleBirthInteger").leaf().type_code,
        "integer"
    );

    let p = resolve("Observation", "valueQuantity.value");
    assert_eq!(
        summary(&p),
        [
            seg("valueQuantity", "Quantity", false, None),
            seg("value", "decimal", false, None)
        ]
    );
    assert_eq!(
        resolve("Observation", "valueString").leaf().type_code,
        "string"
    );
    assert_eq!(
        resolve("Observation", "valueCodeableConcept.text")
            .leaf()
            .type_code,
        "string"
    );
    assert_eq!(
        resolve("Observation", "effectiveDateTime").leaf().type_code,
        "dateTime"
    );
    assert_eq!(
        resolve("Observation", "effectivePeriod.start")
            .leaf()
            .type_code,
        "dateTime"
    );

    let p = resolve("Observation", "component[1].valueQuantity.unit");
    assert_eq!(
        summary(&p),
        [
            seg("component", "BackboneElement", true, Some(1)),
            seg("valueQuantity", "Quantity", false, None),
            seg("unit", "string", false, None)
        ]
    );
    assert_eq!(p.segments[1].element_path, "Observation.component.value[x]");

    // A choice with a Reference: the targets are those of the Reference type.
    let p = resolve("Observation", "subject");
    assert_eq!(
        p.leaf().target_types,
        ["Patient", "Group", "Device", "Location"]
    );
    let p = resolve("MedicationRequest", "medicationReference.reference");
    assert_eq!(p.segments[0].type_code, "Reference");
    assert_eq!(p.segments[0].target_types, ["Medication"]);
    assert!(
        resolve(
            "MedicationRequest",
            "medicationCodeableConcept.coding[0].code"
        )
        .leaf()
        .is_primitive
    );
}

#[test]
fn resolve_data_types() {
    let p = resolve("Observation", "code.coding[0].system");
    assert_eq!(
        summary(&p),
        [
            seg("code", "CodeableConcept", false, None),
            seg("coding", "Coding", true, Some(0)),
            seg("system", "uri", false, None)
        ]
    );
    assert_eq!(p.leaf().element_path, "Coding.system");

    // Quantity profiles use Quantity's elements.
    let p = resolve("Observation", "valueQuantity.comparator");
    assert_eq!(
        p.leaf().binding.as_ref().unwrap().strength,
        BindingStrength::Required
    );
    let p = resolve("Condition", "onsetAge.value");
    assert_eq!(p.segments[0].type_code, "Age");
    assert_eq!(p.leaf().element_path, "Age.value");
    assert_eq!(
        resolve(
            "MedicationRequest",
            "dosageInstruction[0].timing.repeat.boundsDuration.unit"
        )
        .leaf()
        .type_code,
        "string"
    );
    let p = resolve(
        "MedicationRequest",
        "dosageInstruction[0].doseAndRate[0].doseQuantity.value",
    );
    assert_eq!(p.segments[1].type_code, "Element");
    assert_eq!(p.segments[2].type_code, "Quantity");

    // Resolving from a data type directly.
    assert_eq!(resolve("HumanName", "family").leaf().type_code, "string");
    assert_eq!(resolve("Extension", "url").leaf().type_code, "uri");
    assert_eq!(
        resolve("Extension", "valueQuantity.code").leaf().type_code,
        "code"
    );
    assert_eq!(resolve("Patient", "text.div").leaf().type_code, "xhtml");
    assert_eq!(
        resolve("Patient", "extension[0].valueString")
            .leaf()
            .type_code,
        "string"
    );
    assert_eq!(resolve("Patient", "contained[0].id").leaf().type_code, "id");
    assert_eq!(
        resolve("Patient", "name[0].period.end").leaf().type_code,
        "dateTime"
    );
    assert_eq!(
        resolve("Encounter", "period.start").leaf().type_code,
        "dateTime"
    );
}

#[test]
fn resolve_content_references() {
    let p = resolve("Questionnaire", "item[0].item[2].item[0].linkId");
    assert_eq!(p.segments[1].element_path, "Questionnaire.item.item");
    assert_eq!(p.segments[1].type_code, "BackboneElement");
    assert!(p.segments[1].repeats);
    assert_eq!(p.leaf().type_code, "string");
    assert_eq!(p.leaf().element_path, "Questionnaire.item.linkId");
    let p = resolve("Questionnaire", "item.item.enableWhen[0].answerCoding.code");
    assert_eq!(p.leaf().type_code, "code");
    assert_eq!(
        resolve("Observation", "component[0].referenceRange[0].low.value")
            .leaf()
            .type_code,
        "decimal"
    );
}

#[test]
fn error_unknown_element_with_suggestions() {
    let e = resolve_err("Patient", "birthdate");
    assert_eq!(
        e,
        PathError::UnknownElement {
            path: "birthdate".into(),
            segment: "birthdate".into(),
            in_type: "Patient".into(),
            suggestions: vec!["birthDate".into()],
        }
    );
    assert_eq!(
        e.to_string(),
        "element path `birthdate`: Patient has no element `birthdate`; did you mean `birthDate`?"
    );

    let e = resolve_err("Patient", "name[0].givn");
    assert_eq!(
        e.to_string(),
        "element path `name[0].givn`: HumanName has no element `givn`; did you mean `given`?"
    );
    let e = resolve_err("Patient", "contact.nmae");
    assert_eq!(
        e.to_string(),
        "element path `contact.nmae`: Patient.contact has no element `nmae`; did you mean `name`?"
    );
    let e = resolve_err("Observation", "valueQuantiy");
    assert!(
        matches!(&e, PathError::UnknownElement { suggestions, .. } if suggestions[0] == "valueQuantity"),
        "{e}"
    );
    let e = resolve_err("Observation", "stat");
    assert!(
        matches!(&e, PathError::UnknownElement { suggestions, .. } if suggestions == &["status"]),
        "{e}"
    );
    let PathError::UnknownElement { suggestions, .. } = resolve_err("Patient", "xyzzy") else {
        panic!()
    };
    assert!(suggestions.is_empty());
    assert_eq!(
        resolve_err("Patient", "xyzzy").to_string(),
        "element path `xyzzy`: Patient has no element `xyzzy`"
    );
    // At most 3 suggestions.
    let PathError::UnknownElement { suggestions, .. } = resolve_err("Observation", "valueX") else {
        panic!()
    };
    assert!(
        !suggestions.is_empty() && suggestions.len() <= 3,
        "{suggestions:?}"
    );
    let e = resolve_err("Observation", "valueQuantity.valu");
    assert!(
        e.to_string()
            .contains("Quantity has no element `valu`; did you mean `value`?"),
        "{e}"
    );
}

#[test]
fn error_unknown_type() {
    let e = resolve_err("Patinet", "name");
    assert_eq!(
        e.to_string(),
        "unknown FHIR resource type `Patinet`; did you mean `Patient`?"
    );
    let e = resolve_err("observation", "code");
    assert!(
        matches!(&e, PathError::UnknownType { suggestions, .. } if suggestions[0] == "Observation")
    );
}

#[test]
fn error_bare_choice() {
    let e = resolve_err("Patient", "deceased");
    assert_eq!(
        e.to_string(),
        "element path `deceased`: `deceased` in Patient is a choice element (deceased[x]); \
         write one of: deceasedBoolean, deceasedDateTime"
    );
    let e = resolve_err("Observation", "value[x]");
    let PathError::BareChoice { allowed, .. } = &e else {
        panic!("{e}")
    };
    assert_eq!(allowed.len(), 11);
    assert!(allowed.contains(&"valueQuantity".to_owned()));
    assert!(allowed.contains(&"valueCodeableConcept".to_owned()));
    assert!(allowed.contains(&"valueSampledData".to_owned()));
    let e = resolve_err("Observation", "component[0].value");
    assert!(
        matches!(&e, PathError::BareChoice { in_type, .. } if in_type == "Observation.component")
    );
    // A type that the choice does not allow.
    let e = resolve_err("Patient", "deceasedString");
    assert_eq!(
        e.to_string(),
        "element path `deceasedString`: Patient has no element `deceasedString`; did you mean \
         one of `deceasedDateTime`, `deceasedBoolean`?"
    );
}

#[test]
fn error_index_on_single_element() {
    let e = resolve_err("Patient", "birthDate[0]");
    assert_eq!(
        e.to_string(),
        "element path `birthDate[0]`: `birthDate[0]`: Patient.birthDate is a single element \
         (max 1) and cannot be indexed; remove `[0]`"
    );
    let e = resolve_err("Patient", "name[0].family[1]");
    assert!(
        matches!(&e, PathError::NotRepeating { in_type, index: 1, .. } if in_type == "HumanName")
    );
}

#[test]
fn error_into_primitive() {
    let e = resolve_err("Patient", "birthDate.value");
    assert_eq!(
        e.to_string(),
        "element path `birthDate.value`: `birthDate` is a primitive (date) and has no child \
         element `value`"
    );
    let e = resolve_err("Patient", "name[0].family.extension");
    assert!(matches!(&e, PathError::IntoPrimitive { type_code, .. } if type_code == "string"));
}

#[test]
fn error_syntax() {
    for bad in [
        "",
        "name..given",
        ".name",
        "name.",
        "name[a]",
        "name[0",
        "name[-1]",
        "na-me",
        "[0]",
    ] {
        let e = resolve_err("Patient", bad);
        assert!(matches!(e, PathError::Syntax { .. }), "{bad}: {e:?}");
        assert!(
            e.to_string()
                .starts_with(&format!("invalid element path `{bad}`")),
            "{e}"
        );
    }
}

#[test]
fn search_params() {
    let d = defs();
    let p = d.search_param("Patient", "birthdate").unwrap();
    assert_eq!(p.param_type, SearchParamType::Date);
    assert_eq!(p.expression.as_deref(), Some("Patient.birthDate"));
    assert_eq!(
        p.url,
        "http://hl7.org/fhir/SearchParameter/individual-birthdate"
    );
    assert!(p.comparators.contains(&"ge".to_owned()));
    assert_eq!(
        d.search_param("Person", "birthdate")
            .unwrap()
            .expression
            .as_deref(),
        Some("Person.birthDate")
    );

    let p = d.search_param("Observation", "code").unwrap();
    assert_eq!(p.param_type, SearchParamType::Token);
    assert_eq!(p.expression.as_deref(), Some("Observation.code"));

    let p = d.search_param("Observation", "_id").unwrap();
    assert_eq!(p.param_type, SearchParamType::Token);
    assert_eq!(p.common_base.as_deref(), Some("Resource"));
    assert_eq!(p.expression.as_deref(), Some("Resource.id"));
    assert!(d.search_param("Bundle", "_id").is_some());
    assert!(d.search_param("Observation", "_text").is_some());
    assert!(
        d.search_param("Bundle", "_text").is_none(),
        "Bundle is not a DomainResource"
    );
    assert!(d.search_param("Observation", "_lastUpdated").is_some());
    assert!(d.search_param("Nope", "_id").is_none());
    assert!(d.search_param("Observation", "birthdate").is_none());

    let p = d.search_param("Observation", "subject").unwrap();
    assert_eq!(p.param_type, SearchParamType::Reference);
    assert!(p.targets.contains(&"Patient".to_owned()));
    let p = d.search_param("Observation", "patient").unwrap();
    assert_eq!(p.targets, ["Group", "Patient"]);
    assert_eq!(
        p.expression.as_deref(),
        Some("Observation.subject.where(resolve() is Patient)")
    );

    // Targets of "any resource" parameters are expanded.
    let p = d.search_param("Provenance", "target").unwrap();
    assert_eq!(p.targets.len(), 145);
    assert!(!p.targets.contains(&"Parameters".to_owned()));

    let p = d
        .search_param("Observation", "code-value-quantity")
        .unwrap();
    assert_eq!(p.param_type, SearchParamType::Composite);
    assert_eq!(p.components.len(), 2);

    let codes: Vec<&str> = d
        .search_params("Patient")
        .map(|p| p.code.as_str())
        .collect();
    for c in [
        "birthdate",
        "family",
        "gender",
        "identifier",
        "name",
        "_id",
        "_lastUpdated",
        "_text",
    ] {
        assert!(codes.contains(&c), "{c}");
    }
    assert_eq!(d.search_params("Nope").count(), 0);
}

#[test]
fn required_value_sets() {
    let d = defs();
    let gender = d
        .value_set_codes("http://hl7.org/fhir/ValueSet/administrative-gender")
        .unwrap();
    let codes: Vec<&str> = gender.iter().map(|c| c.code.as_str()).collect();
    assert_eq!(codes, ["male", "female", "other", "unknown"]);
    assert!(
        gender
            .iter()
            .all(|c| c.system == "http://hl7.org/fhir/administrative-gender")
    );
    // A version suffix is ignored.
    assert!(
        d.value_set_codes("http://hl7.org/fhir/ValueSet/administrative-gender|4.0.1")
            .is_some()
    );

    let status = d
        .value_set_codes("http://hl7.org/fhir/ValueSet/observation-status")
        .unwrap();
    let codes: Vec<&str> = status.iter().map(|c| c.code.as_str()).collect();
    assert_eq!(
        codes,
        [
            "registered",
            "preliminary",
            "final",
            "amended",
            "corrected",
            "cancelled",
            "entered-in-error",
            "unknown"
        ]
    );

    // Not enumerable: all of UCUM.
    assert!(
        d.value_set_codes("http://hl7.org/fhir/ValueSet/ucum-units")
            .is_none()
    );
    assert!(matches!(
        d.required_value_set("http://hl7.org/fhir/ValueSet/ucum-units"),
        Some(RequiredValueSet::NotEnumerable { .. })
    ));
    // Not used in a required binding.
    assert!(
        d.required_value_set("http://hl7.org/fhir/ValueSet/marital-status")
            .is_none()
    );

    // Every required binding of every resource has an entry.
    for r in d.resource_types() {
        for e in d.elements(r).unwrap() {
            if let Some(Binding {
                strength: BindingStrength::Required,
                value_set: Some(vs),
            }) = &e.binding
            {
                assert!(d.required_value_set(vs).is_some(), "{r}.{}: {vs}", e.path);
            }
        }
    }
}

#[test]
fn patient_compartment() {
    let d = defs();
    assert_eq!(
        d.patient_compartment_params("Observation").unwrap(),
        ["subject", "performer"]
    );
    assert_eq!(d.patient_compartment_params("Patient").unwrap(), ["link"]);
    assert!(
        d.patient_compartment_params("Encounter")
            .unwrap()
            .contains(&"patient".to_owned())
    );
    assert!(d.patient_compartment_params("Organization").is_none());
    // Every compartment param is a search param of that resource.
    for r in d.resource_types() {
        for p in d.patient_compartment_params(r).unwrap_or_default() {
            assert!(d.search_param(r, p).is_some() || p == "{def}", "{r} {p}");
        }
    }
}

#[test]
fn every_snapshot_element_resolves() {
    let d = defs();
    let mut count = 0;
    for ty in d
        .resource_types()
        .chain(d.complex_types())
        .collect::<Vec<_>>()
    {
        for e in d.elements(ty).unwrap() {
            if e.max == "0" {
                continue; // prohibited in a constraint (SimpleQuantity.comparator)
            }
            // Each choice along the path takes its first type.
            let mut json_path = Vec::new();
            let mut def_path = String::new();
            for part in e.path.split('.') {
                if !def_path.is_empty() {
                    def_path.push('.');
                }
                def_path.push_str(part);
                let el = d
                    .elements(ty)
                    .unwrap()
                    .iter()
                    .find(|x| x.path == def_path)
                    .unwrap();
                json_path.push(match part.strip_suffix("[x]") {
                    Some(stem) => {
                        let code = &el.types[0].code;
                        format!("{stem}{}{}", code[..1].to_uppercase(), &code[1..])
                    }
                    None => part.to_owned(),
                });
            }
            let path = json_path.join(".");
            let r = d
                .resolve(ty, &path)
                .unwrap_or_else(|err| panic!("{ty} {path}: {err}"));
            assert_eq!(r.leaf().element_path, format!("{ty}.{}", e.path));
            assert_eq!(r.leaf().repeats, e.repeats());
            count += 1;
        }
    }
    assert!(count > 7000, "{count}");
}

#[test]
fn children_are_found_by_json_name_with_summary_flags() {
    let d = defs();
    let obs = d.scope("Observation").unwrap();
    let status = d.child(obs, "status").unwrap();
    assert!(status.element.is_summary && status.element.min == 1);
    assert!(status.scope.is_none(), "a primitive has no children");
    let value = d.child(obs, "valueQuantity").unwrap();
    assert_eq!(
        (value.element.path.as_str(), value.type_code),
        ("value[x]", "Quantity")
    );
    assert!(d.child(obs, "valueFoo").is_none());
    assert!(d.child(obs, "value").is_none());
    assert!(!d.child(obs, "referenceRange").unwrap().element.is_summary);
    // Into a backbone element, then through its content reference.
    let component = d.child(obs, "component").unwrap().scope.unwrap();
    let code = d.child(component, "code").unwrap();
    assert!(code.element.is_summary && code.element.min == 1);
    let range = d.child(component, "referenceRange").unwrap();
    assert!(!range.element.is_summary);
    let low = d.child(range.scope.unwrap(), "low").unwrap();
    assert_eq!(low.type_code, "Quantity");
    // Into a data type.
    let name = d.child(d.scope("Patient").unwrap(), "name").unwrap();
    let family = d.child(name.scope.unwrap(), "family").unwrap();
    assert!(family.element.is_summary);
    assert!(
        !d.child(name.scope.unwrap(), "extension")
            .unwrap()
            .element
            .is_summary
    );
    let attachment = d.scope("Attachment").unwrap();
    assert!(!d.child(attachment, "data").unwrap().element.is_summary);
    assert!(d.child(attachment, "url").unwrap().element.is_summary);
}

#[test]
fn children_carry_their_xml_representation_and_definition_order() {
    let d = Definitions::r4();
    let patient = d.scope("Patient").unwrap();
    let child = |scope, name| d.child(scope, name).unwrap();
    // Resource.id is an element; Element.id and Extension.url are attributes.
    assert!(!child(patient, "id").element.xml_attr);
    let name = child(patient, "name").scope.unwrap();
    assert!(child(name, "id").element.xml_attr);
    let extension = d.scope("Extension").unwrap();
    assert!(child(extension, "url").element.xml_attr);
    assert!(!child(extension, "valueString").element.xml_attr);
    let contact = child(patient, "contact").scope.unwrap();
    assert!(child(contact, "id").element.xml_attr);
    assert_eq!(contact.path(), "Patient.contact");
    // Inherited elements first, then the resource's own, in definition order.
    let order: Vec<usize> = [
        "id",
        "meta",
        "text",
        "contained",
        "extension",
        "identifier",
        "name",
        "deceasedBoolean",
        "contact",
    ]
    .iter()
    .map(|n| child(patient, n).order)
    .collect();
    assert!(order.windows(2).all(|w| w[0] < w[1]), "{order:?}");
    let observation = d.scope("Observation").unwrap();
    assert_eq!(
        child(observation, "valueQuantity").order,
        child(observation, "valueString").order
    );
}
