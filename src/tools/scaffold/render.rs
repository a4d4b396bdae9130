//! The starter mapping written from what [`super::gather`] found (pure).

use std::collections::{BTreeSet, HashMap};
use std::fmt::Write as _;

use super::names::{
    child_path, date_word, guess_type, has, reference_path, search_param, text_date_format, tokens,
};
use super::{Facts, MAX_CODES};
use crate::db::introspect::{Column, Table};
use crate::db::sqlite::sql_type;
use crate::sql::{SqlType, Value};

/// A guessed element of a column: its path, and how it is written.
struct Guess {
    path: String,
    value: String,
    note: String,
    /// Written commented out (unsure).
    commented: bool,
}

/// A date or dateTime element from column `c` (its value written with the `format` a date
/// stored as text needs), or why it cannot be mapped as is.
fn date_value(facts: &Facts, table: &str, c: &Column, date_only: bool) -> Result<String, String> {
    let name = toml_str(&c.name);
    match sql_type(&c.declared) {
        SqlType::Date => Ok(name),
        SqlType::DateTime if !date_only => Ok(name),
        SqlType::DateTime => Err(format!(
            "{} holds a time too; a `date` element needs a date (map an expr that casts it)",
            c.declared
        )),
        SqlType::Text => {
            let sample = facts.samples.get(&(table.to_string(), c.name.clone()));
            match sample.and_then(|v| text_date_format(v, !date_only)) {
                Some(f) => Ok(format!("{{ column = {name}, format = \"{f}\" }}")),
                None => Err(format!(
                    "a date stored as text in a form not recognized ({}): add its `format`",
                    sample
                        .and_then(Value::key_text)
                        .unwrap_or_else(|| "no value found".into())
                )),
            }
        }
        other => Err(format!(
            "a date stored as {other:?}: map an expr that converts it"
        )),
    }
}

fn toml_str(s: &str) -> String {
    toml::Value::String(s.to_string()).to_string()
}

/// The value map of legacy gender codes found, with FHIR codes guessed; unknown codes are
/// listed commented out.
fn gender_map(name: &str, values: &[(String, u64)]) -> String {
    let mut out = format!(
        "[maps.{name}]\n# TODO: check each code; codes not guessed are commented out.\n[maps.{name}.values]\n"
    );
    for (v, n) in values {
        let code = match v.trim().to_ascii_uppercase().as_str() {
            "M" | "MALE" | "1" => Some("male"),
            "F" | "FEMALE" | "2" => Some("female"),
            "U" | "UNK" | "UNKNOWN" | "0" | "9" => Some("unknown"),
            "O" | "OTHER" | "X" => Some("other"),
            _ => None,
        };
        let key = toml_str(v.trim());
        match code {
            Some(c) => {
                let _ = writeln!(out, "{key} = \"{c}\"  # {n} rows");
            }
            None => {
                let _ = writeln!(
                    out,
                    "# {key} = \"?\"  # TODO: {n} rows; male, female, other or unknown?"
                );
            }
        }
    }
    out
}

fn listed(values: &Option<Vec<(String, u64)>>) -> String {
    match values {
        Some(v) if v.is_empty() => "no values found".into(),
        Some(v) => v
            .iter()
            .map(|(x, n)| format!("{} ({n})", x.trim()))
            .collect::<Vec<_>>()
            .join(", "),
        None => format!("more than {MAX_CODES} distinct values"),
    }
}

/// What a table is in the scaffold.
struct Plan<'a> {
    table: &'a Table,
    ty: Option<&'static str>,
    name: String,
}

/// Writes the starter mapping.
pub fn render(facts: &Facts) -> String {
    let schema = &facts.schema;
    let plans: Vec<Plan> = schema
        .tables
        .iter()
        .filter(|t| t.single_key().is_some())
        .map(|t| Plan {
            table: t,
            ty: guess_type(&t.name),
            name: t
                .name
                .to_ascii_lowercase()
                .replace(|c: char| !c.is_ascii_alphanumeric(), "-"),
        })
        .collect();
    let mut per_type: HashMap<&str, usize> = HashMap::new();
    for p in &plans {
        if let Some(t) = p.ty {
            *per_type.entry(t).or_default() += 1;
        }
    }
    // Key column (lower case) → the table whose single-column primary key it is.
    let keys: HashMap<String, &Plan> = plans
        .iter()
        .filter_map(|p| Some((p.table.single_key()?.to_ascii_lowercase(), p)))
        .collect();

    let mut maps = String::new();
    let mut body = String::new();
    for p in &plans {
        body.push_str(&resource(facts, p, &plans, &keys, &per_type, &mut maps));
    }
    let others: Vec<&Table> = schema
        .tables
        .iter()
        .filter(|t| t.single_key().is_none())
        .collect();
    if !others.is_empty() {
        body.push_str("\n# ---------------------------------------------------------------------------------------------\n");
        body.push_str(
            "# Tables without a single-column primary key (child tables, link tables, views).\n",
        );
        body.push_str("# TODO: feed repeating elements from them with [[resource.child]] under their parent\n");
        body.push_str("# resource (docs/mapping.md §10), or give them a resource of their own through a view\n");
        body.push_str("# with a single key column (§14.7).\n");
        for t in others {
            let _ = writeln!(
                body,
                "#   {}{}: {}",
                t.name,
                if t.view { " (view)" } else { "" },
                t.columns
                    .iter()
                    .map(|c| format!("{} {}", c.name, c.declared))
                    .collect::<Vec<_>>()
                    .join(", ")
            );
            if let Some(parent) = t
                .primary_key
                .first()
                .and_then(|k| keys.get(&k.to_ascii_lowercase()))
                .filter(|p| p.ty.is_some())
            {
                let _ = writeln!(
                    body,
                    "#   it looks like a child of {} ({}): under that resource, e.g.\n\
                     #   [[resource.child]]\n#   path = \"{}\"  # TODO: the repeating element it feeds\n\
                     #   table = {}\n#   key = {}\n#   [resource.child.elements]\n#   ...",
                    parent.table.name,
                    parent.ty.unwrap_or("?"),
                    child_path(&t.name),
                    toml_str(&t.name),
                    toml_str(&t.primary_key[0]),
                );
            }
        }
    }
    let mut out = String::new();
    out.push_str(
        "# Starter mapping written by `fhir-facade scaffold` from the database's schema.\n\
         # Every guess carries a TODO: check it against what the data means. What could not be\n\
         # guessed safely is commented out with a note. When done, run `fhir-facade check`.\n\
         # The language is documented in docs/mapping.md.\n\n\
         [settings]\n\
         # TODO: the time zone of timestamps stored without one.\n\
         timezone = \"UTC\"\n",
    );
    if !maps.is_empty() {
        out.push_str("\n# Value maps: legacy code -> FHIR code\n\n");
        out.push_str(&maps);
    }
    out.push_str(&body);
    out
}

fn resource(
    facts: &Facts,
    p: &Plan,
    plans: &[Plan],
    keys: &HashMap<String, &Plan>,
    per_type: &HashMap<&str, usize>,
    maps: &mut String,
) -> String {
    let t = p.table;
    let key = t.single_key().expect("resources have a single key");
    let mut head = String::new();
    let _ = writeln!(
        head,
        "\n# ---------------------------------------------------------------------------------------------"
    );
    let _ = writeln!(head, "# {} -> {}", t.name, p.ty.unwrap_or("?"));
    let _ = writeln!(
        head,
        "# ---------------------------------------------------------------------------------------------"
    );
    let Some(ty) = p.ty else {
        let _ = writeln!(
            head,
            "# TODO: which FHIR resource does {} hold? It may also be a lookup table to join\n\
             # ([[resource.join]], docs/mapping.md §6). Columns: {}\n\
             # [[resource]]\n# type = \"?\"\n# table = {}\n# id = {}",
            t.name,
            t.columns
                .iter()
                .map(|c| format!("{} {}", c.name, c.declared))
                .collect::<Vec<_>>()
                .join(", "),
            toml_str(&t.name),
            toml_str(key),
        );
        return head;
    };
    let several = per_type.get(ty).copied().unwrap_or(0) > 1;
    let mut out = head;
    let _ = writeln!(
        out,
        "# TODO: the resource type is guessed from the table name."
    );
    let _ = writeln!(
        out,
        "[[resource]]\ntype = \"{ty}\"\nname = \"{}\"\ntable = {}",
        p.name,
        toml_str(&t.name)
    );
    if several {
        let _ = writeln!(
            out,
            "# Several tables give {ty}: the prefix keeps their ids apart.\nid = {{ column = {}, prefix = \"{}-\" }}",
            toml_str(key),
            p.name
        );
    } else {
        let _ = writeln!(out, "id = {}", toml_str(key));
    }
    let mut used: BTreeSet<String> = BTreeSet::new();
    used.insert(key.to_ascii_lowercase());
    // Last-modified time.
    if let Some(c) = t.columns.iter().find(|c| {
        let tk = tokens(&c.name);
        sql_type(&c.declared) == SqlType::DateTime
            && has(
                &tk,
                &["UPD", "UPDATED", "MOD", "MODIFIED", "CHANGED", "CHG"],
            )
    }) {
        let _ = writeln!(
            out,
            "# TODO: the last-modified time, guessed from the column name.\nlast_updated = {}",
            toml_str(&c.name)
        );
        used.insert(c.name.to_ascii_lowercase());
    }
    // Soft-delete flag.
    if let Some(c) = t
        .columns
        .iter()
        .find(|c| has(&tokens(&c.name), &["DEL", "DELETED"]))
    {
        let values = facts
            .codes
            .get(&(t.name.clone(), c.name.clone()))
            .cloned()
            .flatten();
        let _ = writeln!(
            out,
            "# TODO: {} looks like a soft-delete flag ({}); to serve live rows only:",
            c.name,
            listed(&values.clone())
        );
        let yes = values.as_ref().and_then(|v| {
            v.iter()
                .find(|(x, _)| matches!(x.trim(), "Y" | "1" | "T"))
                .map(|(x, _)| x.trim().to_string())
        });
        let _ = writeln!(
            out,
            "# filter = \"{} <> '{}'\"",
            c.name,
            yes.unwrap_or_else(|| "Y".into())
        );
        used.insert(c.name.to_ascii_lowercase());
    }

    let mut elements: Vec<Guess> = Vec::new();
    let mut searches: Vec<&'static str> = vec!["_id"];
    if out.contains("\nlast_updated = ") {
        searches.push("_lastUpdated");
    }
    let mut paths: BTreeSet<String> = BTreeSet::new();
    let push = |g: Guess, elements: &mut Vec<Guess>, paths: &mut BTreeSet<String>| {
        if !g.commented && !paths.insert(g.path.clone()) {
            elements.push(Guess {
                commented: true,
                note: format!("{} (TODO: {} is mapped already)", g.note, g.path),
                ..g
            });
        } else {
            elements.push(g);
        }
    };
    for c in &t.columns {
        if used.contains(&c.name.to_ascii_lowercase()) {
            continue;
        }
        let tk = tokens(&c.name);
        let col = toml_str(&c.name);
        // References: a declared foreign key, or the name of another table's key column.
        let fk = t
            .foreign_keys
            .iter()
            .find(|f| f.columns.len() == 1 && f.columns[0].eq_ignore_ascii_case(&c.name));
        let exact = fk
            .and_then(|f| {
                plans
                    .iter()
                    .find(|q| q.table.name.eq_ignore_ascii_case(&f.ref_table))
            })
            .or_else(|| keys.get(&c.name.to_ascii_lowercase()).copied())
            .filter(|q| q.table.name != t.name || fk.is_some());
        let lower = c.name.to_ascii_lowercase();
        let suffix = keys
            .iter()
            .find(|(k, _)| lower.ends_with(&format!("_{k}")))
            .map(|(_, q)| *q);
        if let Some((target, sure)) = exact.map(|q| (q, true)).or(suffix.map(|q| (q, false))) {
            let how = if fk.is_some() {
                "a declared foreign key"
            } else if sure {
                "the column's name (the key of that table)"
            } else {
                "the end of the column's name"
            };
            match (target.ty, reference_path(ty, target.ty.unwrap_or("?"))) {
                (Some(tt), Some(path)) => {
                    let several_targets = per_type.get(tt).copied().unwrap_or(0) > 1;
                    push(
                        Guess {
                            path: path.into(),
                            value: format!("{{ column = {col}, reference = \"{tt}\" }}"),
                            note: format!(
                                "TODO: a reference to {tt} ({}), from {how}",
                                target.table.name
                            ),
                            commented: !sure || several_targets,
                        },
                        &mut elements,
                        &mut paths,
                    );
                }
                (tt, _) => push(
                    Guess {
                        path: "?".into(),
                        value: col.clone(),
                        note: format!(
                            "TODO: refers to {} ({}), from {how}; map it where the resource has a place for it",
                            target.table.name,
                            tt.unwrap_or("not mapped")
                        ),
                        commented: true,
                    },
                    &mut elements,
                    &mut paths,
                ),
            }
            continue;
        }
        let person = matches!(ty, "Patient" | "Practitioner");
        let date_guess = |path: &str, date_only: bool| -> Guess {
            match date_value(facts, &t.name, c, date_only) {
                Ok(v) => Guess {
                    path: path.into(),
                    value: v,
                    note: "TODO: guessed from the column name".into(),
                    commented: false,
                },
                Err(why) => Guess {
                    path: path.into(),
                    value: col.clone(),
                    note: format!("TODO: {why}"),
                    commented: true,
                },
            }
        };
        let g = if person && has(&tk, &["LAST", "FAMILY", "SURNAME", "LNAME"]) {
            Some(Guess {
                path: "name[0].family".into(),
                value: col.clone(),
                note: "TODO: guessed from the column name".into(),
                commented: false,
            })
        } else if person && has(&tk, &["FIRST", "GIVEN", "FNAME"]) {
            Some(Guess {
                path: "name[0].given[0]".into(),
                value: col.clone(),
                note: "TODO: guessed from the column name".into(),
                commented: false,
            })
        } else if person && has(&tk, &["MID", "MIDDLE"]) {
            Some(Guess {
                path: "name[0].given[1]".into(),
                value: col.clone(),
                note: "TODO: guessed from the column name".into(),
                commented: false,
            })
        } else if person && has(&tk, &["BIRTH", "DOB"]) {
            Some(date_guess("birthDate", true))
        } else if ty == "Patient" && has(&tk, &["DEATH", "DECEASED"]) && date_word(&tk) {
            Some(date_guess("deceasedDateTime", false))
        } else if person && has(&tk, &["SEX", "GENDER"]) {
            let values = facts
                .codes
                .get(&(t.name.clone(), c.name.clone()))
                .cloned()
                .flatten();
            match values {
                Some(v) if !v.is_empty() => {
                    let map = format!("{}_gender", p.name.replace('-', "_"));
                    maps.push_str(&gender_map(&map, &v));
                    maps.push('\n');
                    Some(Guess {
                        path: "gender".into(),
                        value: format!("{{ column = {col}, map = \"{map}\" }}"),
                        note: format!("TODO: codes found: {}", listed(&Some(v))),
                        commented: false,
                    })
                }
                other => Some(Guess {
                    path: "gender".into(),
                    value: col.clone(),
                    note: format!(
                        "TODO: map its codes to male/female/other/unknown ({})",
                        listed(&other)
                    ),
                    commented: true,
                }),
            }
        } else if ty == "Organization" && has(&tk, &["NM", "NAME"]) {
            Some(Guess {
                path: "name".into(),
                value: col.clone(),
                note: "TODO: guessed from the column name".into(),
                commented: false,
            })
        } else if ty == "Encounter" && has(&tk, &["ADMIT", "START", "BEGIN"]) && date_word(&tk) {
            Some(date_guess("period.start", false))
        } else if ty == "Encounter" && has(&tk, &["DISCH", "DISCHARGE", "END"]) && date_word(&tk) {
            Some(date_guess("period.end", false))
        } else if ty == "Condition" && has(&tk, &["ONSET"]) {
            Some(date_guess("onsetDateTime", false))
        } else if ty == "Condition" && has(&tk, &["RESOLVED", "ABATEMENT", "ABATED"]) {
            Some(date_guess("abatementDateTime", false))
        } else if ty == "Condition" && has(&tk, &["RECORDED"]) && date_word(&tk) {
            Some(date_guess("recordedDate", false))
        } else if ty == "Condition" && has(&tk, &["ICD10", "ICD"]) {
            Some(Guess { path: "code.coding[0].code".into(), value: col.clone(), note: "TODO: an ICD code: set its system, e.g. \"code.coding[0].system\" = { constant = \"http://hl7.org/fhir/sid/icd-10-cm\" }".into(), commented: false })
        } else if ty == "Observation"
            && has(&tk, &["COLLECT", "COLLECTED", "TAKEN", "EFFECTIVE", "OBS"])
            && date_word(&tk)
        {
            Some(date_guess("effectiveDateTime", false))
        } else if ty == "MedicationRequest"
            && has(&tk, &["ORDER", "ORDERED", "WRITTEN", "AUTHORED"])
            && date_word(&tk)
        {
            Some(date_guess("authoredOn", false))
        } else {
            None
        };
        match g {
            Some(g) => push(g, &mut elements, &mut paths),
            None => {
                let values = facts.codes.get(&(t.name.clone(), c.name.clone()));
                let note = match values {
                    Some(v) => format!("TODO: {}; codes found: {}", c.declared, listed(v)),
                    None => format!("TODO: {}", c.declared),
                };
                elements.push(Guess {
                    path: "?".into(),
                    value: col.clone(),
                    note,
                    commented: true,
                });
            }
        }
    }
    let _ = writeln!(out, "\n[resource.elements]");
    for g in &elements {
        let path = if g.path.contains(['.', '[']) || g.path == "?" {
            toml_str(&g.path)
        } else {
            g.path.clone()
        };
        let line = format!("{path} = {}", g.value);
        if g.commented {
            let _ = writeln!(out, "# {line:<50}  # {}", g.note);
        } else {
            let _ = writeln!(out, "{line:<52}  # {}", g.note);
            if let Some(s) = search_param(ty, &g.path) {
                searches.push(s);
                if s == "subject" && g.value.contains("\"Patient\"") {
                    searches.push("patient");
                }
            }
        }
    }
    let _ = writeln!(
        out,
        "\n[resource.search]\n# TODO: the parameters of the elements mapped above; declare more as you map them (docs/mapping.md §12)."
    );
    let mut seen = BTreeSet::new();
    for s in searches {
        if seen.insert(s) {
            let _ = writeln!(
                out,
                "{} = true",
                if s.contains('-') {
                    toml_str(s)
                } else {
                    s.to_string()
                }
            );
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::db::introspect::Schema;

    #[test]
    fn unsure_guesses_are_commented_out() {
        use crate::db::introspect::{Column, Table};
        let col = |name: &str, declared: &str| Column {
            name: name.into(),
            declared: declared.into(),
            nullable: true,
        };
        let table = |name: &str, key: &str, columns: Vec<Column>| Table {
            name: name.into(),
            primary_key: vec![key.into()],
            columns,
            ..Table::default()
        };
        let mut facts = Facts {
            schema: Schema {
                tables: vec![
                    table(
                        "MEMBER",
                        "MBR_NO",
                        vec![
                            col("MBR_NO", "INTEGER"),
                            col("SEX", "CHAR(1)"),
                            col("DOB", "VARCHAR(10)"),
                            col("PCP_DOC_ID", "INTEGER"),
                        ],
                    ),
                    table("DOCTOR", "DOC_ID", vec![col("DOC_ID", "INTEGER")]),
                    table("WIDGET", "W_ID", vec![col("W_ID", "INTEGER")]),
                ],
            },
            ..Facts::default()
        };
        facts.codes.insert(
            ("MEMBER".into(), "SEX".into()),
            Some(vec![("M".into(), 5), ("F".into(), 4), ("Q".into(), 1)]),
        );
        facts.samples.insert(
            ("MEMBER".into(), "DOB".into()),
            Value::Text("03/04/1970".into()),
        );
        let text = render(&facts);
        // A code not guessed stays out of the map, with its count.
        assert!(text.contains("\"M\" = \"male\""), "{text}");
        assert!(text.contains("# \"Q\" = \"?\"  # TODO: 1 rows"), "{text}");
        // A date in a form that cannot be compared as text is not mapped.
        assert!(text.contains("# birthDate = \"DOB\""), "{text}");
        // A reference found from the end of a column's name is left for a person to confirm.
        assert!(
            text.contains("# \"generalPractitioner[0]\" = { column = \"PCP_DOC_ID\", reference = \"Practitioner\" }"),
            "{text}"
        );
        // A table whose type cannot be guessed is commented out whole.
        assert!(
            text.contains("# [[resource]]\n# type = \"?\"\n# table = \"WIDGET\""),
            "{text}"
        );
        assert!(text.contains("type = \"Patient\""), "{text}");
    }
}
