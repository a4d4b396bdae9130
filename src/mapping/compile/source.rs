//! The sources of a mapping: `[[resource]]` (relation, alias, joins, filter, id) and its
//! `[[resource.child]]` tables.

use super::*;
use crate::mapping::shape::Shape;

impl Compiler<'_> {
    pub(super) fn compile_source(
        &mut self,
        section: &Spanned<ResourceSection>,
        head: &SourceHead,
        heads: &[SourceHead],
    ) -> Option<Source> {
        let r = section.get_ref();
        let line = self.line(section);
        let rt = head.resource_type.clone();
        let entry = format!("resource \"{}\" ({rt})", head.name);
        if !self.defs.is_resource_type(&rt) {
            let sug = suggestions(&rt, self.defs.resource_types());
            let e = MappingError::new(
                self.line(&r.resource_type),
                entry,
                format!(
                    "'{rt}' is not a FHIR R4 resource type.{}",
                    did_you_mean(&sug)
                ),
            )
            .hint("use the exact resource type name, e.g. \"Patient\" or \"Observation\"");
            self.error(e);
            return None;
        }
        let (relation, default_alias) =
            self.relation(line, &entry, r.table.as_ref(), r.sql.as_ref(), "src")?;
        let alias = r
            .alias
            .as_ref()
            .map(|a| a.get_ref().clone())
            .unwrap_or(default_alias);
        self.check_alias(line, &entry, &alias);
        let mut joins = Vec::new();
        let mut aliases = vec![alias.clone()];
        for j in &r.join {
            let jl = self.line(j);
            let js = j.get_ref();
            if aliases.contains(js.alias.get_ref()) {
                self.error(
                    MappingError::new(
                        jl,
                        &entry,
                        format!("alias '{}' is used twice", js.alias.get_ref()),
                    )
                    .hint("give the source and each join a distinct alias"),
                );
            }
            aliases.push(js.alias.get_ref().clone());
            self.check_alias(jl, &entry, js.alias.get_ref());
            if let Some(on) = self.sql_text(jl, &entry, js.on.get_ref()) {
                joins.push(Join {
                    table: js.table.get_ref().clone(),
                    alias: js.alias.get_ref().clone(),
                    on,
                });
            }
        }
        let scope = Scope {
            entry: entry.clone(),
            own_alias: &alias,
            join_aliases: joins.iter().map(|j| j.alias.as_str()).collect(),
        };
        let id = self.id_mapping(&r.id, &scope);
        let filter = r
            .filter
            .as_ref()
            .and_then(|f| self.sql_text(self.line(f), &entry, f.get_ref()));
        let last_updated = r
            .last_updated
            .as_ref()
            .and_then(|v| self.sql_value(v, &scope, "last_updated"))
            .map(|mut v| {
                self.add_none_dates(&mut v);
                v
            });
        let version = r
            .version
            .as_ref()
            .and_then(|v| self.sql_value(v, &scope, "version"));

        let mut elements = Vec::new();
        let mut seen_paths = HashSet::new();
        for (path, value) in &r.elements {
            if let Some(el) = self.element(&rt, path, None, value, &scope, heads) {
                if !seen_paths.insert(el.path.clone()) {
                    let e = MappingError::new(
                        self.line(value),
                        format!("{entry}, element \"{path}\""),
                        "this element is mapped twice",
                    )
                    .hint("keep one mapping per element path; use indexes like name[1] for more items");
                    self.error(e);
                }
                elements.push(el);
            }
        }
        let mut children = Vec::new();
        for c in &r.child {
            if let Some(child) = self.child(&rt, c, &scope, heads) {
                children.push(child);
            }
        }
        let id = id?;
        for child in &mut children {
            // A child without `parent_key` refers to the parent's id value.
            if matches!(&child.parent_key, SqlValue::Column(c) if c.name.is_empty()) {
                child.parent_key = id.value.clone();
            }
        }
        let mut source = Source {
            name: head.name.clone(),
            resource_type: rt.clone(),
            line,
            relation,
            alias,
            joins,
            id,
            filter,
            last_updated,
            version,
            elements,
            children,
            search: Vec::new(),
            index_leads: Vec::new(),
            shape: None,
        };
        source.shape = Shape::of(&source);
        source.search = self.search_decls(&rt, &entry, &r.search, &source);
        Some(source)
    }

    /// Aliases are written into SQL as they are, so they must be plain identifiers.
    pub(super) fn check_alias(&mut self, line: usize, entry: &str, alias: &str) {
        let simple = alias
            .chars()
            .next()
            .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
            && alias.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
        if !simple || RESERVED.contains(&alias.to_ascii_uppercase().as_str()) {
            self.error(
                MappingError::new(
                    line,
                    entry,
                    format!("'{alias}' cannot be used as an SQL alias"),
                )
                .hint("set `alias` to a plain name such as \"P\" (letters, digits, _; not an SQL keyword)"),
            );
        }
    }

    pub(super) fn relation(
        &mut self,
        line: usize,
        entry: &str,
        table: Option<&Spanned<String>>,
        sql: Option<&Spanned<SqlText>>,
        sql_alias: &str,
    ) -> Option<(Relation, String)> {
        match (table, sql) {
            (Some(t), None) => {
                let name = t.get_ref().clone();
                let alias = name.rsplit('.').next().unwrap_or(&name).to_string();
                Some((Relation::Table(name), alias))
            }
            (None, Some(q)) => {
                let text = self.sql_text(self.line(q), entry, q.get_ref())?;
                Some((Relation::Query(text), sql_alias.to_string()))
            }
            (Some(_), Some(_)) => {
                self.error(
                    MappingError::new(line, entry, "both `table` and `sql` are given")
                        .hint("keep one: `table` for a table or view, `sql` for a query"),
                );
                None
            }
            (None, None) => {
                self.error(
                    MappingError::new(line, entry, "no `table` or `sql` says where rows come from")
                        .hint("add table = \"YOUR_TABLE\" (or sql = \"SELECT ...\")"),
                );
                None
            }
        }
    }

    pub(super) fn id_mapping(
        &mut self,
        v: &Spanned<toml::Value>,
        scope: &Scope,
    ) -> Option<IdMapping> {
        let line = self.line(v);
        if let toml::Value::Table(t) = v.get_ref() {
            for k in t.keys() {
                if !["column", "expr", "prefix", "type"].contains(&k.as_str()) {
                    self.error(
                        MappingError::new(
                            line,
                            format!("{}, id", scope.entry),
                            format!("unknown key '{k}'"),
                        )
                        .hint("id takes `column` or `expr`, and optionally `prefix` and `type`"),
                    );
                }
            }
            if let Some(p) = t.get("prefix").and_then(|p| p.as_str())
                && !is_id_text(p)
            {
                self.error(
                    MappingError::new(
                        line,
                        format!("{}, id", scope.entry),
                        format!("prefix '{p}' has characters a FHIR id cannot have"),
                    )
                    .hint("use letters, digits, '-' and '.' only, e.g. \"lab-\""),
                );
            }
        }
        let value = self.sql_value(v, scope, "id")?;
        let prefix = match v.get_ref() {
            toml::Value::Table(t) => t.get("prefix").and_then(|p| p.as_str()).unwrap_or(""),
            _ => "",
        };
        Some(IdMapping {
            value,
            prefix: prefix.to_string(),
        })
    }

    pub(super) fn child(
        &mut self,
        rt: &str,
        c: &Spanned<ChildSection>,
        parent: &Scope,
        heads: &[SourceHead],
    ) -> Option<Child> {
        let cs = c.get_ref();
        let line = self.line(c);
        let written = cs.path.get_ref().clone();
        let entry = format!("{}, child \"{written}\"", parent.entry);
        let (relation, default_alias) =
            self.relation(line, &entry, cs.table.as_ref(), cs.sql.as_ref(), "child")?;
        let alias = cs
            .alias
            .as_ref()
            .map(|a| a.get_ref().clone())
            .unwrap_or(default_alias);
        self.check_alias(line, &entry, &alias);
        let path = match self.defs.resolve(rt, &written) {
            Ok(p) => p,
            Err(err) => {
                self.error(path_error(self.line(&cs.path), &entry, &err));
                return None;
            }
        };
        let last = path.segments.last()?;
        if !last.repeats || last.index.is_some() {
            self.error(
                MappingError::new(
                    self.line(&cs.path),
                    &entry,
                    format!("'{written}' must name a repeating element without an index"),
                )
                .hint(
                    "a child table feeds a list such as `telecom`, `identifier` or `name[0].given`",
                ),
            );
            return None;
        }
        let base = to_element_path(&path);
        let scope = Scope {
            entry: entry.clone(),
            own_alias: &alias,
            join_aliases: vec![],
        };
        let key = self.column_ref(self.line(&cs.key), "key", cs.key.get_ref(), &scope)?;
        let parent_key = match &cs.parent_key {
            Some(pk) => {
                let pl = self.line(pk);
                SqlValue::Column(self.column_ref(pl, "parent_key", pk.get_ref(), parent)?)
            }
            None => SqlValue::Column(ColumnRef {
                qualifier: None,
                name: String::new(),
                info: ColumnInfo::default(),
                declared: None,
                none: Vec::new(),
            }),
        };
        let filter = cs
            .filter
            .as_ref()
            .and_then(|f| self.sql_text(self.line(f), &entry, f.get_ref()));
        let mut elements = Vec::new();
        let mut seen = HashSet::new();
        for (p, value) in &cs.elements {
            if let Some(el) =
                self.element(rt, p, Some((&written, base.len())), value, &scope, heads)
            {
                if !seen.insert(el.path.clone()) {
                    let e = MappingError::new(
                        self.line(value),
                        format!("{entry}, element \"{p}\""),
                        "this element is mapped twice",
                    );
                    self.error(e);
                }
                elements.push(el);
            }
        }
        let value = match &cs.value {
            Some(v) => {
                let mut el = self.element(rt, &written, None, v, &scope, heads)?;
                el.path.clear();
                Some(el)
            }
            None => None,
        };
        if cs.value.is_some() != cs.elements.is_empty() {
            self.error(
                MappingError::new(
                    line,
                    &entry,
                    "a child needs either `elements` (for complex items) or `value` (for primitive items)",
                )
                .hint("e.g. [resource.child.elements] value = \"PHONE_NO\"  or  value = \"GIVEN_NM\""),
            );
            return None;
        }
        if let Some(o) = &cs.order_by
            && let Some(n) = positional_order(o.get_ref())
        {
            // A read numbers child rows with `ROW_NUMBER() OVER (ORDER BY ...)`, where a
            // number is a constant, not a column position.
            self.error(
                MappingError::new(
                    self.line(o),
                    &entry,
                    format!("`order_by` orders by column position {n}, which a read's statement cannot use"),
                )
                .hint("name the column or expression instead (order_by = \"SEQ_NO\")"),
            );
        }
        Some(Child {
            path: base,
            written,
            line,
            relation,
            alias,
            key,
            parent_key,
            filter,
            order_by: cs.order_by.as_ref().map(|o| o.get_ref().clone()),
            elements,
            value,
        })
    }
}

/// The first item of an `ORDER BY` list that is a column position (`2`, `1 DESC`).
fn positional_order(order_by: &str) -> Option<u32> {
    order_by.split(',').find_map(|item| {
        let first = item.split_whitespace().next()?;
        first.parse().ok()
    })
}

/// SQL keywords that cannot serve as unquoted aliases.
const RESERVED: &[&str] = &[
    "ALL", "AND", "AS", "ASC", "BETWEEN", "BY", "CASE", "CHECK", "COLUMN", "CREATE", "CROSS",
    "DEFAULT", "DELETE", "DESC", "DISTINCT", "DROP", "ELSE", "END", "EXISTS", "FOR", "FROM",
    "FULL", "GROUP", "HAVING", "IN", "INDEX", "INNER", "INSERT", "INTO", "IS", "JOIN", "KEY",
    "LEFT", "LIKE", "LIMIT", "NOT", "NULL", "ON", "OR", "ORDER", "OUTER", "PRIMARY", "RIGHT",
    "SELECT", "SET", "TABLE", "THEN", "TO", "UNION", "UNIQUE", "UPDATE", "USER", "USING", "VALUES",
    "WHEN", "WHERE", "WITH",
];
