//! `[resource.elements]`: an element path, its value (column, expression or constant) and
//! its conversion (primitive, value map, code-system prefix, reference), checked against the
//! element's FHIR type and bindings.

use super::*;

pub(super) const ELEMENT_KEYS: &[&str] = &[
    "column",
    "expr",
    "constant",
    "type",
    "none",
    "map",
    "format",
    "reference",
    "required",
    "system_prefix",
];

impl Compiler<'_> {
    /// Compiles one element. `item` is `(child path, number of its segments)` for child items,
    /// whose paths are relative to the item.
    pub(super) fn element(
        &mut self,
        rt: &str,
        written: &str,
        item: Option<(&str, usize)>,
        value: &Spanned<toml::Value>,
        scope: &Scope,
        heads: &[SourceHead],
    ) -> Option<ElementMapping> {
        let line = self.line(value);
        let entry = format!("{}, element \"{written}\"", scope.entry);
        let full = match item {
            Some((base, _)) => format!("{base}.{written}"),
            None => written.to_string(),
        };
        let resolved = match self.defs.resolve(rt, &full) {
            Ok(p) => p,
            Err(err) => {
                self.error(path_error(line, &entry, &err));
                return None;
            }
        };
        let mut path = to_element_path(&resolved);
        if let Some((_, skip)) = item {
            path.drain(..skip);
        }
        let leaf = resolved.segments.last()?;
        let fhir_type = leaf.type_code.clone();

        let spec = match value.get_ref() {
            toml::Value::String(col) => {
                let mut t = toml::Table::new();
                t.insert("column".into(), toml::Value::String(col.clone()));
                t
            }
            toml::Value::Table(t) => t.clone(),
            other => {
                self.error(
                    MappingError::new(
                        line,
                        entry,
                        format!(
                            "expected a column name or a table, found a {}",
                            other.type_str()
                        ),
                    )
                    .hint(
                        "write \"COLUMN\", or { column = .. } / { expr = .. } / { constant = .. }",
                    ),
                );
                return None;
            }
        };
        for k in spec.keys() {
            if !ELEMENT_KEYS.contains(&k.as_str()) {
                let sug = suggestions(k, ELEMENT_KEYS.iter().copied());
                if sug.is_empty()
                    && !["column", "expr", "constant"]
                        .iter()
                        .any(|s| spec.contains_key(*s))
                {
                    // `name.family = ..` without quotes is a TOML table `name = { family = .. }`.
                    self.error(
                        MappingError::new(line, &entry, format!("unknown key '{k}'")).hint(
                            format!(
                                "an element path with dots must be quoted: \"{written}.{k}\" = ..."
                            ),
                        ),
                    );
                    return None;
                }
                self.error(
                    MappingError::new(
                        line,
                        &entry,
                        format!("unknown key '{k}'.{}", did_you_mean(&sug)),
                    )
                    .hint(format!("an element takes: {}", ELEMENT_KEYS.join(", "))),
                );
                return None;
            }
        }
        let sources = ["column", "expr", "constant"]
            .iter()
            .filter(|k| spec.contains_key(**k))
            .count();
        if sources != 1 {
            self.error(
                MappingError::new(line, &entry, "give exactly one of `column`, `expr` or `constant`")
                    .hint("e.g. { column = \"LAST_NM\" }, { expr = \"TRIM(A) || B\" }, { constant = \"final\" }"),
            );
            return None;
        }
        let binding_codes = self.required_codes(leaf);
        let code_system = self.single_code_system(leaf);
        let required = match spec.get("required") {
            None => false,
            Some(toml::Value::Boolean(true))
                if resolved.segments.len() < 2 && !spec.contains_key("constant") =>
            {
                self.error(
                    MappingError::new(
                        line,
                        &entry,
                        "`required` leaves out the element that contains this one, and a top-level element has none",
                    )
                    .hint("use `required` on a part, e.g. \"valueQuantity.value\"; leave it out here"),
                );
                false
            }
            Some(toml::Value::Boolean(b)) => *b,
            Some(_) => {
                self.error(
                    MappingError::new(line, &entry, "`required` must be true or false")
                        .hint("write required = true"),
                );
                false
            }
        };

        if let Some(constant) = spec.get("constant") {
            for k in [
                "map",
                "format",
                "reference",
                "required",
                "type",
                "none",
                "system_prefix",
            ] {
                if spec.contains_key(k) {
                    self.error(MappingError::new(
                        line,
                        &entry,
                        format!("`{k}` cannot be used with `constant`"),
                    ));
                }
            }
            let json = toml_to_json(constant);
            if Primitive::from_fhir(&fhir_type).is_none() && !json.is_object() {
                self.error(
                    MappingError::new(
                        line,
                        &entry,
                        format!("'{written}' is a {fhir_type}; a constant for it must be a table"),
                    )
                    .hint(format!(
                        "write its parts, e.g. {{ constant = {{ ... }} }}, or map the primitive parts such as {written}.<part>"
                    )),
                );
                return None;
            }
            if let Some(prim) = Primitive::from_fhir(&fhir_type)
                && !constant_fits(prim, &json)
            {
                self.error(
                    MappingError::new(
                        line,
                        &entry,
                        format!("the constant {json} does not fit the FHIR type {fhir_type}"),
                    )
                    .hint(constant_hint(prim)),
                );
                return None;
            }
            if let (Some((vs, codes)), Some(code)) = (&binding_codes, json.as_str())
                && !codes.iter().any(|c| c == code)
            {
                self.error(binding_error(line, &entry, code, vs, codes));
            }
            return Some(ElementMapping {
                path,
                written: written.to_string(),
                line,
                value: ElementValue::Constant(json),
                required: false,
                fhir_type,
                code_system,
            });
        }

        for (a, b) in [
            ("map", "reference"),
            ("format", "map"),
            ("format", "reference"),
            ("system_prefix", "map"),
            ("system_prefix", "reference"),
            ("system_prefix", "format"),
        ] {
            if spec.contains_key(a) && spec.contains_key(b) {
                self.error(
                    MappingError::new(line, &entry, format!("`{a}` and `{b}` cannot be combined"))
                        .hint(format!("keep one of `{a}` or `{b}`")),
                );
                return None;
            }
        }
        let mut sql =
            self.sql_value_of_table(line, &spec, scope, &format!("element \"{written}\""))?;
        if matches!(fhir_type.as_str(), "date" | "dateTime" | "instant") {
            self.add_none_dates(&mut sql);
        }
        let format = spec
            .get("format")
            .and_then(|f| f.as_str())
            .map(str::to_string);
        let convert = if let Some(target) = spec.get("reference") {
            let target = target.as_str().unwrap_or_default();
            if fhir_type != "Reference" {
                self.error(
                    MappingError::new(
                        line,
                        &entry,
                        format!("`reference` needs a Reference element, but '{written}' is a {fhir_type}"),
                    )
                    .hint("put the reference on an element of type Reference, e.g. subject"),
                );
                return None;
            }
            let matches: Vec<&SourceHead> = heads
                .iter()
                .filter(|h| h.name == target || h.resource_type == target)
                .collect();
            let by_name: Vec<&&SourceHead> = matches.iter().filter(|h| h.name == target).collect();
            let head = match (by_name.as_slice(), matches.as_slice()) {
                ([h], _) => **h,
                ([], [h]) => *h,
                ([], []) => {
                    let sug = suggestions(target, heads.iter().map(|h| h.name.as_str()));
                    self.error(
                        MappingError::new(
                            line,
                            &entry,
                            format!(
                                "reference target '{target}' is not a mapped resource.{}",
                                did_you_mean(&sug)
                            ),
                        )
                        .hint("name a resource type mapped in this file, or a [[resource]] name"),
                    );
                    return None;
                }
                _ => {
                    self.error(
                        MappingError::new(
                            line,
                            &entry,
                            format!("'{target}' has several sources; the reference must say which"),
                        )
                        .hint("use the `name` of one [[resource]] of that type as the reference target"),
                    );
                    return None;
                }
            };
            if !leaf.target_types.is_empty()
                && !leaf
                    .target_types
                    .iter()
                    .any(|t| t == &head.resource_type || t == "Resource")
            {
                self.error(
                    MappingError::new(
                        line,
                        &entry,
                        format!(
                            "'{written}' cannot refer to a {}; allowed: {}",
                            head.resource_type,
                            leaf.target_types.join(", ")
                        ),
                    )
                    .hint("refer to one of the allowed resource types"),
                );
                return None;
            }
            Convert::Reference {
                resource_type: head.resource_type.clone(),
                prefix: head.prefix.clone(),
                source: head.name.clone(),
            }
        } else if let Some(map_name) = spec.get("map") {
            let map_name = map_name.as_str().unwrap_or_default();
            let Some(map) = self.maps.get(map_name).cloned() else {
                let sug = suggestions(map_name, self.maps.keys().map(String::as_str));
                self.error(
                    MappingError::new(
                        line,
                        &entry,
                        format!("there is no value map '{map_name}'.{}", did_you_mean(&sug)),
                    )
                    .hint(format!(
                        "define it: [maps.{map_name}] values = {{ LEGACY = \"fhir-code\" }}"
                    )),
                );
                return None;
            };
            let target = match fhir_type.as_str() {
                "Coding" => MapTarget::Coding,
                "CodeableConcept" => MapTarget::CodeableConcept,
                t => match Primitive::from_fhir(t) {
                    Some(p) => MapTarget::Primitive(p),
                    None => {
                        self.error(
                            MappingError::new(
                                line,
                                &entry,
                                format!("a value map cannot fill a {t} element"),
                            )
                            .hint("map a code, Coding or CodeableConcept element (or a primitive part of it)"),
                        );
                        return None;
                    }
                },
            };
            if let MapTarget::Primitive(p) = target {
                for v in map.values.values().chain(map.default.iter()) {
                    let fits = match v {
                        MapValue::Scalar(json) => constant_fits(p, json),
                        MapValue::Coding { .. } => !matches!(
                            p,
                            Primitive::Boolean | Primitive::Integer | Primitive::Decimal
                        ),
                    };
                    if !fits {
                        self.error(
                            MappingError::new(
                                line,
                                &entry,
                                format!("value map '{map_name}' has entries that do not fit the FHIR type {fhir_type}"),
                            )
                            .hint(format!("[maps.{map_name}]: {}", constant_hint(p))),
                        );
                        return None;
                    }
                }
            }
            if let Some((vs, codes)) = &binding_codes {
                for v in map.values.values().chain(map.default.iter()) {
                    let code = match v {
                        MapValue::Coding { code, .. } => Some(code.as_str()),
                        MapValue::Scalar(s) => s.as_str(),
                    };
                    if let Some(code) = code
                        && !codes.iter().any(|c| c == code)
                    {
                        self.error(binding_error(line, &entry, code, vs, codes).hint(format!(
                            "change the entry of [maps.{map_name}] to one of: {}",
                            codes.join(", ")
                        )));
                    }
                }
            }
            Convert::Mapped { map, target }
        } else if let Some(sp) = spec.get("system_prefix") {
            let target = match fhir_type.as_str() {
                "Coding" => MapTarget::Coding,
                "CodeableConcept" => MapTarget::CodeableConcept,
                t => {
                    self.error(
                        MappingError::new(
                            line,
                            &entry,
                            format!("`system_prefix` fills a Coding or CodeableConcept, but '{written}' is a {t}"),
                        )
                        .hint("put it on the Coding, e.g. \"code.coding[0]\" = { column = .., system_prefix = .. }"),
                    );
                    return None;
                }
            };
            let prefix = self.system_prefix(line, &entry, sp)?;
            Convert::Prefixed {
                prefix: Arc::new(prefix),
                target,
            }
        } else {
            let Some(to) = Primitive::from_fhir(&fhir_type) else {
                self.error(
                    MappingError::new(
                        line,
                        &entry,
                        format!("'{written}' is a {fhir_type}; a column cannot fill it directly"),
                    )
                    .hint(complex_hint(written, &fhir_type)),
                );
                return None;
            };
            if format.is_some()
                && !matches!(
                    to,
                    Primitive::Date | Primitive::DateTime | Primitive::Instant | Primitive::Time
                )
            {
                self.error(
                    MappingError::new(
                        line,
                        &entry,
                        "`format` only applies to date and time elements",
                    )
                    .hint("remove `format`"),
                );
            }
            if let Some(f) = &format
                && !valid_format(f)
            {
                self.error(
                    MappingError::new(line, &entry, format!("'{f}' is not a valid date format"))
                        .hint("use chrono strftime syntax, e.g. \"%Y%m%d\" or \"%m/%d/%Y %H:%M\""),
                );
            }
            Convert::Primitive {
                to,
                format,
                scale: None,
                trim: to == Primitive::Decimal && matches!(sql, SqlValue::Expr(_)),
            }
        };
        Some(ElementMapping {
            path,
            written: written.to_string(),
            line,
            value: ElementValue::Sql {
                value: sql,
                convert,
            },
            required,
            fhir_type,
            code_system,
        })
    }

    /// `system_prefix = { separator = ":", systems = { PREFIX = "url" } }`.
    pub(super) fn system_prefix(
        &mut self,
        line: usize,
        entry: &str,
        v: &toml::Value,
    ) -> Option<SystemPrefix> {
        let hint = "write system_prefix = { separator = \":\", systems = { ICD10 = \"http://hl7.org/fhir/sid/icd-10-cm\" } }";
        let fail = |this: &mut Self, what: &str| {
            this.error(MappingError::new(line, entry, what.to_string()).hint(hint));
            None
        };
        let Some(t) = v.as_table() else {
            return fail(self, "`system_prefix` must be a table");
        };
        if let Some(k) = t.keys().find(|k| *k != "separator" && *k != "systems") {
            return fail(
                self,
                &format!("unknown key '{k}' in `system_prefix` (it takes separator and systems)"),
            );
        }
        let separator = match t.get("separator").and_then(|s| s.as_str()) {
            Some(s) if !s.is_empty() => s.to_string(),
            _ => return fail(self, "`system_prefix` needs a non-empty `separator`"),
        };
        let Some(systems) = t.get("systems").and_then(|s| s.as_table()) else {
            return fail(
                self,
                "`system_prefix` needs `systems`: prefix = code system URL",
            );
        };
        let mut out = IndexMap::new();
        for (prefix, url) in systems {
            let url = match url.as_str() {
                Some(u) if u.contains(':') && !u.chars().any(char::is_whitespace) => u,
                _ => {
                    return fail(
                        self,
                        &format!("the system of prefix '{prefix}' must be a code system URL"),
                    );
                }
            };
            if prefix.is_empty() || prefix.contains(separator.as_str()) {
                return fail(
                    self,
                    &format!("prefix '{prefix}' must be non-empty and not contain the separator"),
                );
            }
            out.insert(prefix.clone(), url.to_string());
        }
        if out.is_empty() {
            return fail(
                self,
                "`system_prefix` needs at least one prefix in `systems`",
            );
        }
        Some(SystemPrefix {
            separator,
            systems: out,
        })
    }

    /// The codes of a required binding on `leaf`, when they can be enumerated.
    pub(super) fn required_codes(
        &self,
        leaf: &crate::fhir::ResolvedSegment,
    ) -> Option<(String, Vec<String>)> {
        let binding = leaf.binding.as_ref()?;
        if binding.strength != BindingStrength::Required {
            return None;
        }
        let vs = binding.value_set.as_ref()?;
        let codes = self.defs.value_set_codes(vs)?;
        Some((vs.clone(), codes.iter().map(|c| c.code.clone()).collect()))
    }

    /// The one code system of a `code` element's required binding, if there is exactly one.
    pub(super) fn single_code_system(&self, leaf: &crate::fhir::ResolvedSegment) -> Option<String> {
        let vs = leaf.binding.as_ref()?.value_set.as_ref()?;
        let codes = self.defs.value_set_codes(vs)?;
        let first = &codes.first()?.system;
        codes
            .iter()
            .all(|c| &c.system == first)
            .then(|| first.clone())
    }
}

fn binding_error(line: usize, entry: &str, code: &str, vs: &str, codes: &[String]) -> MappingError {
    MappingError::new(
        line,
        entry,
        format!("'{code}' is not in the required value set {vs}"),
    )
    .hint(format!("use one of: {}", codes.join(", ")))
}

fn complex_hint(written: &str, fhir_type: &str) -> String {
    match fhir_type {
        "Reference" => {
            format!("write {{ column = \"KEY\", reference = \"Patient\" }} for '{written}'")
        }
        "CodeableConcept" | "Coding" => format!(
            "use a value map ({{ column = \"CD\", map = \"name\" }}) or map its parts, e.g. {written}.coding[0].code"
        ),
        "Quantity" => format!("map its parts, e.g. {written}.value and {written}.unit"),
        "HumanName" => format!("map its parts, e.g. {written}.family and {written}.given[0]"),
        _ => format!("map the primitive parts of this {fhir_type}, e.g. {written}.<part>"),
    }
}

fn constant_fits(prim: Primitive, v: &serde_json::Value) -> bool {
    match prim {
        Primitive::Boolean => v.is_boolean(),
        Primitive::Integer => v.is_i64() || v.is_u64(),
        Primitive::Decimal => v.is_number(),
        _ => v.is_string(),
    }
}

fn constant_hint(prim: Primitive) -> &'static str {
    match prim {
        Primitive::Boolean => "write constant = true or constant = false",
        Primitive::Integer => "write a whole number, e.g. constant = 1",
        Primitive::Decimal => "write a number, e.g. constant = 1.5",
        _ => "write a string, e.g. constant = \"final\"",
    }
}

fn valid_format(f: &str) -> bool {
    use chrono::format::{Item, StrftimeItems};
    !StrftimeItems::new(f).any(|i| matches!(i, Item::Error))
}
