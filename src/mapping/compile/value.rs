//! Column and expression values (`column`, `expr`, `type`, `none`) in the scope of a source.

use super::*;

impl Compiler<'_> {
    pub(super) fn column_ref(
        &mut self,
        line: usize,
        what: &str,
        text: &str,
        scope: &Scope,
    ) -> Option<ColumnRef> {
        let text = text.trim();
        let (qualifier, name) = match text.rsplit_once('.') {
            Some((q, n)) => (Some(q), n),
            None => (None, text),
        };
        if name.is_empty() {
            self.error(MappingError::new(
                line,
                format!("{}, {what}", scope.entry),
                "empty column name",
            ));
            return None;
        }
        let qualifier = match qualifier {
            None => None,
            Some(q) if q == scope.own_alias => None,
            Some(q) if scope.join_aliases.contains(&q) => Some(q.to_string()),
            Some(q) => {
                let mut known = vec![scope.own_alias];
                known.extend(scope.join_aliases.iter().copied());
                self.error(
                    MappingError::new(
                        line,
                        format!("{}, {what}", scope.entry),
                        format!("'{q}' in '{text}' is not the source alias or a join alias"),
                    )
                    .hint(format!(
                        "qualify columns with one of: {} (or use `expr` for SQL)",
                        known.join(", ")
                    )),
                );
                return None;
            }
        };
        Some(ColumnRef {
            qualifier,
            name: name.to_string(),
            info: ColumnInfo::default(),
            declared: None,
            none: Vec::new(),
        })
    }

    /// A column name (string) or `{ column = .. }` / `{ expr = .. }`.
    pub(super) fn sql_value(
        &mut self,
        v: &Spanned<toml::Value>,
        scope: &Scope,
        what: &str,
    ) -> Option<SqlValue> {
        let line = self.line(v);
        match v.get_ref() {
            toml::Value::String(col) => self
                .column_ref(line, what, col, scope)
                .map(SqlValue::Column),
            toml::Value::Table(t) => {
                // `id` checks its own keys (it also takes `prefix`).
                let allowed: &[&str] = &["column", "expr", "type", "none"];
                if what != "id"
                    && let Some(k) = t.keys().find(|k| !allowed.contains(&k.as_str()))
                {
                    self.error(
                        MappingError::new(
                            line,
                            format!("{}, {what}", scope.entry),
                            format!("unknown key '{k}'"),
                        )
                        .hint(format!("{what} takes: {}", allowed.join(", "))),
                    );
                    return None;
                }
                self.sql_value_of_table(line, t, scope, what)
            }
            other => {
                self.error(
                    MappingError::new(
                        line,
                        format!("{}, {what}", scope.entry),
                        format!(
                            "expected a column name or a table, found a {}",
                            other.type_str()
                        ),
                    )
                    .hint("write \"COLUMN\", { column = \"COLUMN\" } or { expr = \"SQL\" }"),
                );
                None
            }
        }
    }

    pub(super) fn sql_value_of_table(
        &mut self,
        line: usize,
        t: &toml::Table,
        scope: &Scope,
        what: &str,
    ) -> Option<SqlValue> {
        let declared = match t.get("type") {
            None => None,
            Some(ty) => match ty.as_str().and_then(SqlType::declared) {
                Some(ty) => Some(ty),
                None => {
                    let names: Vec<&str> = SqlType::DECLARABLE.iter().map(|t| t.name()).collect();
                    self.error(
                        MappingError::new(
                            line,
                            format!("{}, {what}", scope.entry),
                            format!("unknown type {ty}"),
                        )
                        .hint(format!("type is one of: {}", names.join(", "))),
                    );
                    return None;
                }
            },
        };
        let none = match t.get("none") {
            None => Vec::new(),
            Some(toml::Value::Array(items)) => {
                let mut out = Vec::new();
                for item in items {
                    match item {
                        toml::Value::String(s) => out.push(s.clone()),
                        toml::Value::Integer(i) => out.push(i.to_string()),
                        other => {
                            self.error(
                                MappingError::new(
                                    line,
                                    format!("{}, {what}", scope.entry),
                                    format!("`none` holds a {}: only text and whole numbers can be stored values", other.type_str()),
                                )
                                .hint("write the stored values, e.g. none = [0, \"\", \"0000-00-00\"]"),
                            );
                            return None;
                        }
                    }
                }
                out
            }
            Some(_) => {
                self.error(
                    MappingError::new(
                        line,
                        format!("{}, {what}", scope.entry),
                        "`none` must be a list of the stored values that mean no value",
                    )
                    .hint("write e.g. none = [0, \"\"]"),
                );
                return None;
            }
        };
        let mut value = match (t.get("column"), t.get("expr")) {
            (Some(toml::Value::String(c)), None) => {
                let mut column = self.column_ref(line, what, c, scope)?;
                column.declared = declared;
                SqlValue::Column(column)
            }
            (None, Some(e)) => {
                let text: SqlText = match e.clone().try_into() {
                    Ok(t) => t,
                    Err(_) => {
                        self.error(
                            MappingError::new(
                                line,
                                format!("{}, {what}", scope.entry),
                                "`expr` must be SQL text or a table of per-dialect SQL",
                            )
                            .hint("write expr = \"...\" or expr = { sqlite = \"...\", default = \"...\" }"),
                        );
                        return None;
                    }
                };
                let entry = format!("{}, {what}", scope.entry);
                SqlValue::Expr(Expr::new(self.sql_text(line, &entry, &text)?, declared))
            }
            _ => {
                self.error(
                    MappingError::new(
                        line,
                        format!("{}, {what}", scope.entry),
                        "give exactly one of `column` (a string) or `expr`",
                    )
                    .hint("write { column = \"COLUMN\" } or { expr = \"SQL\" }"),
                );
                return None;
            }
        };
        *value.none_mut() = none;
        Some(value)
    }
}
