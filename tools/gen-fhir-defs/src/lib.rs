//! Generator for the compact FHIR R4 definition tables embedded in fhir-facade.
//!
//! Reads the official FHIR R4 (4.0.1) definition bundles (`profiles-resources.json`,
//! `profiles-types.json`, `valuesets.json`, `search-parameters.json`, from the npm package
//! `hl7.fhir.r4.examples@4.0.1`, CC0) and produces four small JSON files:
//!
//! | file | contents |
//! |---|---|
//! | `elements.json` | primitive type names; element trees of every complex data type and resource |
//! | `value-sets.json` | codes of every value set used in a `required` binding |
//! | `search-parameters.json` | search parameters per resource type, plus the common ones |
//! | `patient-compartment.json` | params linking each resource type to the Patient compartment |
//!
//! The output is deterministic: maps are sorted by key, element lists keep the snapshot order
//! (which is FHIR's canonical element order), and every array element or map entry that can be
//! long is written on its own line so diffs stay readable. The output does not depend on the
//! `preserve_order` / `arbitrary_precision` features of `serde_json` (the main crate enables both
//! and runs this generator from a test to check the committed files are up to date).
//!
//! Element encoding (`elements.json`): `{"path": "contact.name", "types": ["HumanName"],
//! "min": 1, "max": "*", "summary": true, "xmlAttr": true, "binding": {...}, "ref": "item"}`
//! where `path` is relative to the type root, `min` is omitted when 0, `summary` (the
//! definition's `isSummary`: the element is part of `_summary=true`) is omitted when false,
//! `xmlAttr` (the definition's `representation` says `xmlAttr`: in FHIR XML the element is an
//! attribute, as `Element.id` and `Extension.url` are) is omitted when false, `types` uses the
//! FHIR notation `Reference(Patient|Group)` for target profiles, `ref` is a resolved
//! `contentReference` (relative path of the element whose definition is reused; `types` is then
//! absent), and `binding` is `{"strength", "valueSet"}`
//! with the value set URL stripped of its `|version` suffix.
//!
//! Search parameters (`search-parameters.json`): `{"common": [..], "resources": {"Patient":
//! [..]}}`; the common ones (base `Resource` / `DomainResource`: `_id`, `_lastUpdated`, `_text`..)
//! apply to every (domain) resource type. The expression of a parameter shared by several
//! resource types keeps only the union parts of that type (`Patient.birthDate`). A target list
//! naming more than half of the concrete resource types is written as `targetsAllExcept`
//! (80 parameters target everything but `Parameters`).
//!
//! Value sets (`value-sets.json`): `{"<url>": {"systems": [{"system", "codes": [..]}]}}` or
//! `{"<url>": {"notEnumerable": "<why>"}}` (e.g. all of UCUM, or not defined in the bundle).

use serde_json::{Map, Value, json};
use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;
use std::path::Path;

/// Names of the generated files, in the order [`generate`] returns them.
pub const OUTPUT_FILES: [&str; 4] = [
    "elements.json",
    "value-sets.json",
    "search-parameters.json",
    "patient-compartment.json",
];

const SD_PREFIX: &str = "http://hl7.org/fhir/StructureDefinition/";
const FHIR_TYPE_EXT: &str = "http://hl7.org/fhir/StructureDefinition/structuredefinition-fhir-type";

/// Reads the bundles from `src_dir` and returns `(file name, contents)` for each output file.
pub fn generate(src_dir: &Path) -> Result<Vec<(String, String)>, String> {
    let types_bundle = load(src_dir, "profiles-types.json")?;
    let resources_bundle = load(src_dir, "profiles-resources.json")?;
    let valuesets_bundle = load(src_dir, "valuesets.json")?;
    let search_bundle = load(src_dir, "search-parameters.json")?;

    let mut required_value_sets = BTreeSet::new();
    let elements = gen_elements(&types_bundle, &resources_bundle, &mut required_value_sets)?;
    let value_sets = gen_value_sets(&valuesets_bundle, &required_value_sets)?;
    let resource_names: BTreeSet<String> = bundle_resources(&resources_bundle)
        .filter(|r| r["resourceType"] == "StructureDefinition" && r["kind"] == "resource")
        .filter_map(|r| r["type"].as_str().map(str::to_owned))
        .collect();
    let concrete: BTreeSet<String> = bundle_resources(&resources_bundle)
        .filter(|r| {
            r["resourceType"] == "StructureDefinition"
                && r["kind"] == "resource"
                && r["abstract"] != true
        })
        .filter_map(|r| r["type"].as_str().map(str::to_owned))
        .collect();
    let search = gen_search_params(&search_bundle, &resource_names, &concrete)?;
    let compartment = gen_patient_compartment(&resources_bundle)?;

    Ok(vec![
        (OUTPUT_FILES[0].to_owned(), elements),
        (OUTPUT_FILES[1].to_owned(), value_sets),
        (OUTPUT_FILES[2].to_owned(), search),
        (OUTPUT_FILES[3].to_owned(), compartment),
    ])
}

/// Runs [`generate`] and writes the files into `out_dir` (created if missing).
pub fn generate_into(src_dir: &Path, out_dir: &Path) -> Result<(), String> {
    let files = generate(src_dir)?;
    std::fs::create_dir_all(out_dir).map_err(|e| format!("{}: {e}", out_dir.display()))?;
    for (name, contents) in files {
        let path = out_dir.join(&name);
        std::fs::write(&path, contents).map_err(|e| format!("{}: {e}", path.display()))?;
    }
    Ok(())
}

fn load(dir: &Path, name: &str) -> Result<Value, String> {
    let path = dir.join(name);
    let text = std::fs::read_to_string(&path).map_err(|e| format!("{}: {e}", path.display()))?;
    serde_json::from_str(&text).map_err(|e| format!("{}: {e}", path.display()))
}

fn bundle_resources(bundle: &Value) -> impl Iterator<Item = &Value> {
    bundle["entry"]
        .as_array()
        .map(|v| v.as_slice())
        .unwrap_or_default()
        .iter()
        .map(|e| &e["resource"])
}

fn str_of<'a>(v: &'a Value, what: &str) -> Result<&'a str, String> {
    v.as_str()
        .ok_or_else(|| format!("expected a string for {what}, got {v}"))
}

fn strip_version(url: &str) -> &str {
    url.split('|').next().unwrap_or(url)
}

// ---------------------------------------------------------------------------------------------
// Elements

fn gen_elements(
    types_bundle: &Value,
    resources_bundle: &Value,
    required: &mut BTreeSet<String>,
) -> Result<String, String> {
    let mut primitives = BTreeSet::new();
    let mut types: BTreeMap<String, String> = BTreeMap::new();
    let mut resources: BTreeMap<String, String> = BTreeMap::new();

    for sd in bundle_resources(types_bundle) {
        if sd["resourceType"] != "StructureDefinition" {
            continue;
        }
        let id = str_of(&sd["id"], "StructureDefinition.id")?;
        match sd["kind"].as_str() {
            Some("primitive-type") => {
                primitives.insert(id.to_owned());
            }
            Some("complex-type") => {
                types.insert(id.to_owned(), gen_structure(sd, false, required)?);
            }
            _ => {}
        }
    }
    for sd in bundle_resources(resources_bundle) {
        if sd["resourceType"] != "StructureDefinition" || sd["kind"] != "resource" {
            continue;
        }
        let id = str_of(&sd["id"], "StructureDefinition.id")?;
        resources.insert(id.to_owned(), gen_structure(sd, true, required)?);
    }

    let mut out = String::from("{\n\"primitives\": ");
    out.push_str(&serde_json::to_string(&primitives).expect("serialize"));
    out.push_str(",\n\"types\": {\n");
    join_map(&mut out, &types);
    out.push_str("},\n\"resources\": {\n");
    join_map(&mut out, &resources);
    out.push_str("}\n}\n");
    Ok(out)
}

fn join_map(out: &mut String, map: &BTreeMap<String, String>) {
    let n = map.len();
    for (i, (k, v)) in map.iter().enumerate() {
        let _ = write!(out, "{}: {}", json_str(k), v);
        out.push_str(if i + 1 < n { ",\n" } else { "\n" });
    }
}

fn json_str(s: &str) -> String {
    serde_json::to_string(s).expect("serialize string")
}

/// One type or resource: `{"base": .., "abstract": true?, "elements": [..one per line..]}`.
fn gen_structure(
    sd: &Value,
    is_resource: bool,
    required: &mut BTreeSet<String>,
) -> Result<String, String> {
    let id = str_of(&sd["id"], "StructureDefinition.id")?;
    let mut head = Map::new();
    if let Some(base) = sd["baseDefinition"].as_str() {
        head.insert(
            "base".into(),
            json!(base.strip_prefix(SD_PREFIX).unwrap_or(base)),
        );
    }
    if sd["abstract"] == true {
        head.insert("abstract".into(), json!(true));
    }
    if sd["derivation"] == "constraint" {
        head.insert("constraintOn".into(), sd["type"].clone());
    }
    let elements = sd["snapshot"]["element"]
        .as_array()
        .ok_or_else(|| format!("{id}: no snapshot"))?;
    let mut lines = Vec::new();
    let mut root_name: Option<&str> = None;
    for el in elements {
        let path = str_of(&el["path"], "ElementDefinition.path")?;
        let Some((root, rel)) = path.split_once('.') else {
            root_name = Some(path);
            continue;
        };
        if Some(root) != root_name {
            return Err(format!("{id}: element {path} outside root {root_name:?}"));
        }
        let mut e = Map::new();
        e.insert("path".into(), json!(rel));
        if let Some(cref) = el["contentReference"].as_str() {
            let target = cref
                .strip_prefix('#')
                .and_then(|t| t.strip_prefix(root))
                .and_then(|t| t.strip_prefix('.'))
                .ok_or_else(|| format!("{id}: unsupported contentReference {cref} at {path}"))?;
            e.insert("ref".into(), json!(target));
        } else {
            let mut types = Vec::new();
            for t in el["type"].as_array().map(Vec::as_slice).unwrap_or_default() {
                types.push(type_string(t, is_resource && rel == "id", path)?);
            }
            if types.is_empty() {
                return Err(format!("{id}: element {path} has no type"));
            }
            e.insert("types".into(), json!(types));
        }
        let min = el["min"]
            .as_u64()
            .ok_or_else(|| format!("{path}: no min"))?;
        if min != 0 {
            e.insert("min".into(), json!(min));
        }
        e.insert("max".into(), json!(str_of(&el["max"], "max")?));
        if el["isSummary"] == true {
            e.insert("summary".into(), json!(true));
        }
        let representation = el["representation"].as_array().map(Vec::as_slice);
        if representation
            .unwrap_or_default()
            .iter()
            .any(|r| r == "xmlAttr")
        {
            e.insert("xmlAttr".into(), json!(true));
        }
        if let Some(b) = el.get("binding") {
            let mut binding = Map::new();
            let strength = str_of(&b["strength"], "binding.strength")?;
            binding.insert("strength".into(), json!(strength));
            if let Some(vs) = b["valueSet"].as_str() {
                let vs = strip_version(vs);
                binding.insert("valueSet".into(), json!(vs));
                if strength == "required" {
                    required.insert(vs.to_owned());
                }
            }
            e.insert("binding".into(), Value::Object(binding));
        }
        lines.push(serde_json::to_string(&Value::Object(e)).expect("serialize"));
    }
    let mut out = String::from("{");
    for (k, v) in &head {
        let _ = write!(out, "{}: {}, ", json_str(k), v);
    }
    out.push_str("\"elements\": [\n");
    out.push_str(&lines.join(",\n"));
    out.push_str("\n]}");
    Ok(out)
}

/// `string`, `HumanName`, `Reference(Patient|Group)`, `canonical(Questionnaire)`.
fn type_string(t: &Value, is_resource_id: bool, path: &str) -> Result<String, String> {
    let code = str_of(&t["code"], "type.code")?;
    let mut code = code.to_owned();
    if code.starts_with("http://hl7.org/fhirpath/System.") {
        // FHIRPath system types (used for `id` and `Extension.url`): the FHIR type is in an
        // extension. `Resource.id` says `string` there, but its FHIR type is `id` (as the spec
        // text and the JSON schema say).
        code = if is_resource_id {
            "id".to_owned()
        } else {
            t["extension"]
                .as_array()
                .and_then(|exts| {
                    exts.iter()
                        .find(|x| x["url"] == FHIR_TYPE_EXT)
                        .and_then(|x| x["valueUrl"].as_str())
                })
                .unwrap_or("string")
                .to_owned()
        };
    }
    if let Some(targets) = t["targetProfile"].as_array() {
        let names = targets
            .iter()
            .map(|p| {
                let p = str_of(p, "targetProfile")?;
                Ok(p.strip_prefix(SD_PREFIX).unwrap_or(p).to_owned())
            })
            .collect::<Result<Vec<_>, String>>()
            .map_err(|e| format!("{path}: {e}"))?;
        code = format!("{code}({})", names.join("|"));
    }
    Ok(code)
}

// ---------------------------------------------------------------------------------------------
// Value sets

fn gen_value_sets(bundle: &Value, required: &BTreeSet<String>) -> Result<String, String> {
    let mut value_sets = BTreeMap::new();
    let mut code_systems = BTreeMap::new();
    for r in bundle_resources(bundle) {
        if let Some(url) = r["url"].as_str() {
            match r["resourceType"].as_str() {
                Some("ValueSet") => {
                    value_sets.insert(url, r);
                }
                Some("CodeSystem") => {
                    code_systems.insert(url, r);
                }
                _ => {}
            }
        }
    }
    let mut lines = Vec::new();
    for url in required {
        let entry = match expand(url, &value_sets, &code_systems) {
            Ok(systems) => json!({ "systems": systems }),
            Err(reason) => json!({ "notEnumerable": reason }),
        };
        lines.push(format!(
            "{}: {}",
            json_str(url),
            serde_json::to_string(&entry).expect("serialize")
        ));
    }
    Ok(format!("{{\n{}\n}}\n", lines.join(",\n")))
}

/// The codes of a value set grouped by system, or why they can't be listed.
fn expand(
    url: &str,
    value_sets: &BTreeMap<&str, &Value>,
    code_systems: &BTreeMap<&str, &Value>,
) -> Result<Vec<Value>, String> {
    let vs = value_sets
        .get(url)
        .ok_or_else(|| "value set not defined in the FHIR R4 definitions".to_owned())?;
    let compose = &vs["compose"];
    if compose.get("exclude").is_some() {
        return Err("value set has exclude rules".to_owned());
    }
    let mut systems: Vec<(String, Vec<String>)> = Vec::new();
    for inc in compose["include"]
        .as_array()
        .map(Vec::as_slice)
        .unwrap_or_default()
    {
        if inc.get("valueSet").is_some() {
            return Err("value set includes other value sets".to_owned());
        }
        if inc.get("filter").is_some() {
            return Err("value set include uses filters".to_owned());
        }
        let system = inc["system"]
            .as_str()
            .ok_or_else(|| "value set include without system".to_owned())?;
        let mut codes = Vec::new();
        if let Some(concepts) = inc["concept"].as_array() {
            for c in concepts {
                codes.push(str_of(&c["code"], "concept.code")?.to_owned());
            }
        } else {
            let cs = code_systems.get(system).ok_or_else(|| {
                format!("includes all of code system {system}, which is not defined here")
            })?;
            if cs["content"] != "complete" {
                return Err(format!(
                    "code system {system} has content {}",
                    cs["content"].as_str().unwrap_or("?")
                ));
            }
            collect_concepts(&cs["concept"], &mut codes)?;
        }
        match systems.iter_mut().find(|(s, _)| s == system) {
            Some((_, existing)) => existing.extend(codes),
            None => systems.push((system.to_owned(), codes)),
        }
    }
    Ok(systems
        .into_iter()
        .map(|(system, mut codes)| {
            let mut seen = BTreeSet::new();
            codes.retain(|c| seen.insert(c.clone()));
            json!({ "system": system, "codes": codes })
        })
        .collect())
}

fn collect_concepts(concepts: &Value, out: &mut Vec<String>) -> Result<(), String> {
    for c in concepts.as_array().map(Vec::as_slice).unwrap_or_default() {
        out.push(str_of(&c["code"], "concept.code")?.to_owned());
        collect_concepts(&c["concept"], out)?;
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// Search parameters

fn gen_search_params(
    bundle: &Value,
    resource_names: &BTreeSet<String>,
    concrete_resources: &BTreeSet<String>,
) -> Result<String, String> {
    let concrete = concrete_resources;
    let mut common: BTreeMap<String, String> = BTreeMap::new();
    let mut per_resource: BTreeMap<String, BTreeMap<String, String>> = BTreeMap::new();
    for sp in bundle_resources(bundle) {
        if sp["resourceType"] != "SearchParameter" {
            continue;
        }
        let code = str_of(&sp["code"], "SearchParameter.code")?;
        let bases = sp["base"]
            .as_array()
            .ok_or_else(|| format!("search parameter {code} without base"))?;
        for base in bases {
            let base = str_of(base, "SearchParameter.base")?;
            if !resource_names.contains(base) {
                return Err(format!("search parameter {code}: unknown base {base}"));
            }
            let line =
                serde_json::to_string(&search_param(sp, base, concrete)?).expect("serialize");
            let map = if base == "Resource" || base == "DomainResource" {
                &mut common
            } else {
                per_resource.entry(base.to_owned()).or_default()
            };
            if map.insert(code.to_owned(), line).is_some() {
                return Err(format!("duplicate search parameter {code} on {base}"));
            }
        }
    }
    let mut out = String::from("{\n\"common\": [\n");
    out.push_str(&common.into_values().collect::<Vec<_>>().join(",\n"));
    out.push_str("\n],\n\"resources\": {\n");
    let n = per_resource.len();
    for (i, (res, params)) in per_resource.into_iter().enumerate() {
        let _ = writeln!(out, "{}: [", json_str(&res));
        out.push_str(&params.into_values().collect::<Vec<_>>().join(",\n"));
        out.push_str(if i + 1 < n { "\n],\n" } else { "\n]\n" });
    }
    out.push_str("}\n}\n");
    Ok(out)
}

fn search_param(sp: &Value, base: &str, concrete: &BTreeSet<String>) -> Result<Value, String> {
    let mut m = Map::new();
    m.insert("code".into(), sp["code"].clone());
    m.insert(
        "type".into(),
        json!(str_of(&sp["type"], "SearchParameter.type")?),
    );
    if let Some(expr) = sp["expression"].as_str() {
        m.insert("expression".into(), json!(expression_for(expr, base)));
    }
    m.insert(
        "url".into(),
        json!(str_of(&sp["url"], "SearchParameter.url")?),
    );
    if base == "Resource" || base == "DomainResource" {
        m.insert("base".into(), json!(base));
    }
    if let Some(targets) = sp["target"].as_array() {
        let set: BTreeSet<&str> = targets.iter().filter_map(Value::as_str).collect();
        if set.len() > concrete.len() / 2 && set.iter().all(|t| concrete.contains(*t)) {
            // 80 parameters target every resource type but Parameters: don't spell out 145
            // names each time, list the concrete resource types that are *not* targets.
            let except: Vec<&str> = concrete
                .iter()
                .map(String::as_str)
                .filter(|c| !set.contains(c))
                .collect();
            m.insert("targetsAllExcept".into(), json!(except));
        } else {
            m.insert("targets".into(), json!(set));
        }
    }
    for (src, dst) in [("modifier", "modifiers"), ("comparator", "comparators")] {
        if let Some(v) = sp.get(src) {
            m.insert(dst.into(), v.clone());
        }
    }
    for key in ["multipleOr", "multipleAnd"] {
        if let Some(v) = sp.get(key) {
            m.insert(key.into(), v.clone());
        }
    }
    if let Some(components) = sp["component"].as_array() {
        let comps: Vec<Value> = components
            .iter()
            .map(|c| json!({ "definition": c["definition"], "expression": c["expression"] }))
            .collect();
        m.insert("components".into(), json!(comps));
    }
    Ok(Value::Object(m))
}

/// The parts of a `a | b | c` union expression that apply to `base` (all of it when none
/// start with `base.`, e.g. the relative `name | alias` of InsurancePlan-name).
pub fn expression_for(expr: &str, base: &str) -> String {
    let parts = split_union(expr);
    if parts.len() < 2 {
        return expr.to_owned();
    }
    let prefix = format!("{base}.");
    let kept: Vec<&str> = parts
        .iter()
        .copied()
        .filter(|p| {
            let p = p.trim_start_matches('(');
            p.starts_with(&prefix) || p == base
        })
        .collect();
    if kept.is_empty() {
        expr.to_owned()
    } else {
        kept.join(" | ")
    }
}

/// Splits a FHIRPath expression at top-level ` | ` (not inside parentheses).
fn split_union(expr: &str) -> Vec<&str> {
    let mut parts = Vec::new();
    let mut depth = 0i32;
    let mut start = 0;
    let bytes = expr.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'(' => depth += 1,
            b')' => depth -= 1,
            b'|' if depth == 0 => {
                parts.push(expr[start..i].trim());
                start = i + 1;
            }
            _ => {}
        }
        i += 1;
    }
    parts.push(expr[start..].trim());
    parts
}

// ---------------------------------------------------------------------------------------------
// Patient compartment

fn gen_patient_compartment(bundle: &Value) -> Result<String, String> {
    let cd = bundle_resources(bundle)
        .find(|r| r["resourceType"] == "CompartmentDefinition" && r["code"] == "Patient")
        .ok_or_else(|| "no Patient CompartmentDefinition".to_owned())?;
    let mut map = BTreeMap::new();
    for r in cd["resource"]
        .as_array()
        .map(Vec::as_slice)
        .unwrap_or_default()
    {
        let code = str_of(&r["code"], "CompartmentDefinition.resource.code")?;
        if let Some(params) = r["param"].as_array() {
            let params = params
                .iter()
                .map(|p| str_of(p, "param").map(str::to_owned))
                .collect::<Result<Vec<_>, _>>()?;
            map.insert(code.to_owned(), params);
        }
    }
    let lines: Vec<String> = map
        .iter()
        .map(|(k, v)| {
            format!(
                "{}: {}",
                json_str(k),
                serde_json::to_string(v).expect("ser")
            )
        })
        .collect();
    Ok(format!("{{\n{}\n}}\n", lines.join(",\n")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn union_expressions_are_filtered_per_base() {
        let e = "Patient.birthDate | Person.birthDate | RelatedPerson.birthDate";
        assert_eq!(expression_for(e, "Person"), "Person.birthDate");
        let e = "(DeviceRequest.code as CodeableConcept) | Observation.code";
        assert_eq!(
            expression_for(e, "DeviceRequest"),
            "(DeviceRequest.code as CodeableConcept)"
        );
        assert_eq!(
            expression_for("name | alias", "InsurancePlan"),
            "name | alias"
        );
        let e = "Account.subject.where(resolve() is Patient | Group) | Foo.x";
        assert_eq!(
            expression_for(e, "Account"),
            "Account.subject.where(resolve() is Patient | Group)"
        );
    }
}
