//! What names and stored values suggest: the resource type of a table, the element of a
//! column, the element a reference goes in, the search parameter of an element, the format
//! of a date stored as text (pure).

use crate::db::introspect::Column;
use crate::sql::Value;

pub(super) fn tokens(name: &str) -> Vec<String> {
    name.split(['_', ' '])
        .filter(|t| !t.is_empty())
        .map(|t| t.to_ascii_uppercase())
        .collect()
}

pub(super) fn has(tokens: &[String], any: &[&str]) -> bool {
    tokens.iter().any(|t| any.contains(&t.as_str()))
}

pub(super) fn date_word(t: &[String]) -> bool {
    has(t, &["DT", "DATE", "TS", "DOB", "TIME", "TIMESTAMP"])
}

pub(super) fn is_code_column(c: &Column) -> bool {
    let t = tokens(&c.name);
    let short_text = {
        let d = c.declared.to_ascii_uppercase();
        d.contains("CHAR")
            && d.chars()
                .filter(char::is_ascii_digit)
                .collect::<String>()
                .parse::<u32>()
                .is_ok_and(|n| n <= 4)
    };
    has(
        &t,
        &[
            "SEX", "GENDER", "FLG", "FLAG", "DELETED", "STAT", "STATUS", "TYP", "TYPE",
        ],
    ) || (short_text && has(&t, &["CD", "CODE"]))
}

/// The resource type a table name suggests.
pub(super) fn guess_type(table: &str) -> Option<&'static str> {
    let t = tokens(table);
    let name = table.to_ascii_uppercase();
    let rules: &[(&[&str], &str)] = &[
        (&["PATIENT", "PERSON", "MEMBER"], "Patient"),
        (
            &["PROVIDER", "PRACTITIONER", "PHYSICIAN", "DOCTOR"],
            "Practitioner",
        ),
        (
            &["DEPT", "DEPARTMENT", "ORGANIZATION", "ORG", "FACILITY"],
            "Organization",
        ),
        (&["VISIT", "ENCOUNTER", "ADMISSION"], "Encounter"),
        (&["DIAGNOSIS", "DX", "PROBLEM", "CONDITION"], "Condition"),
        (
            &["RESULT", "OBSERVATION", "VITALS", "VITAL", "OBS"],
            "Observation",
        ),
        (&["RX", "PRESCRIPTION", "MEDICATION"], "MedicationRequest"),
        (&["ALLERGY", "ALLERGIES"], "AllergyIntolerance"),
        (&["PROCEDURE", "PROCEDURES"], "Procedure"),
        (&["IMMUNIZATION", "VACCINATION"], "Immunization"),
    ];
    // Code, lookup and link tables are not resources of their own.
    if has(&t, &["MAP", "LOOKUP", "XREF", "REF", "CODES", "LINK"]) {
        return None;
    }
    rules
        .iter()
        .find(|(words, _)| {
            t.iter().any(|x| words.contains(&x.as_str()))
                || words.iter().any(|w| w.len() > 4 && name.contains(w))
        })
        .map(|(_, ty)| *ty)
}

/// The repeating element a child table's name suggests.
pub(super) fn child_path(table: &str) -> &'static str {
    let t = tokens(table);
    if has(&t, &["IDENT", "IDENTIFIER", "IDS", "ID"]) {
        "identifier"
    } else if has(&t, &["PHONE", "TEL", "TELECOM", "EMAIL", "CONTACT"]) {
        "telecom"
    } else if has(&t, &["ADDR", "ADDRESS", "ADDRESSES"]) {
        "address"
    } else if has(&t, &["NAME", "NAMES", "ALIAS"]) {
        "name"
    } else {
        "?"
    }
}

/// The element a reference from `from` to `to` goes in.
pub(super) fn reference_path(from: &str, to: &str) -> Option<&'static str> {
    Some(match (from, to) {
        ("AllergyIntolerance" | "Immunization", "Patient") => "patient",
        (_, "Patient") if from != "Patient" && from != "Practitioner" && from != "Organization" => {
            "subject"
        }
        ("Patient", "Practitioner") => "generalPractitioner[0]",
        ("Patient", "Organization") => "managingOrganization",
        ("Encounter", "Practitioner") => "participant[0].individual",
        ("Encounter", "Organization") => "serviceProvider",
        ("Condition", "Practitioner") => "recorder",
        ("Observation", "Practitioner") => "performer[0]",
        ("MedicationRequest", "Practitioner") => "requester",
        ("Procedure", "Practitioner") => "performer[0].actor",
        ("Organization", "Organization") => "partOf",
        ("Condition" | "Observation" | "MedicationRequest" | "Procedure", "Encounter") => {
            "encounter"
        }
        _ => return None,
    })
}

/// The search parameter a mapped path backs, for the type.
pub(super) fn search_param(ty: &str, path: &str) -> Option<&'static str> {
    Some(match (ty, path) {
        (_, "subject") => "subject",
        (_, "patient") => "patient",
        (_, "encounter") => "encounter",
        ("Patient" | "Practitioner", "name[0].family") => "family",
        ("Patient" | "Practitioner", "name[0].given[0]") => "given",
        ("Organization", "name") => "name",
        (_, "birthDate") => "birthdate",
        (_, "gender") => "gender",
        ("Patient", "generalPractitioner[0]") => "general-practitioner",
        ("Encounter", "period.start") => "date",
        ("Encounter", "serviceProvider") => "service-provider",
        ("Encounter", "participant[0].individual") => "practitioner",
        ("Condition", "onsetDateTime") => "onset-date",
        ("Condition", "code.coding[0].code") => "code",
        ("Observation", "effectiveDateTime") => "date",
        ("Observation", "performer[0]") => "performer",
        ("MedicationRequest", "authoredOn") => "authoredon",
        ("MedicationRequest", "requester") => "requester",
        ("Organization", "partOf") => "partof",
        _ => return None,
    })
}

/// The `format` of a date stored as text, read from one of its values.
pub(super) fn text_date_format(v: &Value, with_time: bool) -> Option<&'static str> {
    let Value::Text(s) = v else { return None };
    let s = s.trim();
    let digits = |r: std::ops::Range<usize>| {
        s.get(r)
            .is_some_and(|p| p.bytes().all(|b| b.is_ascii_digit()))
    };
    if s.len() == 8 && digits(0..8) {
        return Some("%Y%m%d");
    }
    if s.len() == 10 && digits(0..4) && &s[4..5] == "-" && &s[7..8] == "-" {
        return Some("%Y-%m-%d");
    }
    if with_time && s.len() == 19 && digits(0..4) && &s[10..11] == " " {
        return Some("%Y-%m-%d %H:%M:%S");
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn types_from_table_names() {
        assert_eq!(guess_type("PATIENT"), Some("Patient"));
        assert_eq!(guess_type("PAT_IDENT"), None);
        assert_eq!(guess_type("LAB_RESULT"), Some("Observation"));
        assert_eq!(guess_type("RX_ORDER"), Some("MedicationRequest"));
        assert_eq!(guess_type("tbl_patients"), Some("Patient"));
        assert_eq!(guess_type("LAB_TEST_MAP"), None);
    }

    #[test]
    fn text_dates_get_their_format() {
        let t = |s: &str| Value::Text(s.into());
        assert_eq!(text_date_format(&t("19740625"), false), Some("%Y%m%d"));
        assert_eq!(text_date_format(&t("1974-06-25"), true), Some("%Y-%m-%d"));
        assert_eq!(
            text_date_format(&t("1974-06-25 10:00:00"), true),
            Some("%Y-%m-%d %H:%M:%S")
        );
        assert_eq!(text_date_format(&t("1974-06-25 10:00:00"), false), None);
        assert_eq!(text_date_format(&t("06/25/1974"), false), None);
    }
}
