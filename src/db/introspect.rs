//! What a database's catalog says of its tables: columns and their declared types, primary and
//! foreign keys, indexes, row counts. Read through the ordinary read-only [`Database`] handle
//! (SQLite's pragmas, PostgreSQL's and MySQL/MariaDB's `information_schema` and catalogs), for
//! the `check` command's index advice, `explain --analyze` and `scaffold`.

use super::{Database, DbError};
use crate::sql::{Dialect, Statement, Value};

/// The tables (and views) of the database's current schema.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Schema {
    /// Tables in name order.
    pub tables: Vec<Table>,
}

/// One table or view.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Table {
    /// Its name, as the catalog spells it.
    pub name: String,
    /// Whether it is a view.
    pub view: bool,
    /// Columns in declaration order.
    pub columns: Vec<Column>,
    /// The primary key's columns, in key order (empty: none declared).
    pub primary_key: Vec<String>,
    /// Declared foreign keys.
    pub foreign_keys: Vec<ForeignKey>,
    /// Indexes (the primary key's own index included where the catalog lists it).
    pub indexes: Vec<Index>,
}

/// A column.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Column {
    /// Its name.
    pub name: String,
    /// Its declared type as the catalog writes it (`CHAR(8)`, `character varying(35)`...).
    pub declared: String,
    /// Whether it may hold NULL.
    pub nullable: bool,
}

/// A declared foreign key.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ForeignKey {
    /// Its columns in this table.
    pub columns: Vec<String>,
    /// The table it refers to.
    pub ref_table: String,
    /// The columns it refers to (empty: that table's primary key).
    pub ref_columns: Vec<String>,
}

/// An index.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Index {
    /// Its name.
    pub name: String,
    /// Whether it is unique.
    pub unique: bool,
    /// Its keys in order: a column name, or the text of an expression (`lower(last_nm)`).
    pub keys: Vec<String>,
}

impl Schema {
    /// The table named `name` (compared without regard to case; a schema prefix is ignored).
    pub fn table(&self, name: &str) -> Option<&Table> {
        let name = name.rsplit('.').next().unwrap_or(name);
        let name = name.trim_matches(|c| c == '"' || c == '`');
        self.tables
            .iter()
            .find(|t| t.name.eq_ignore_ascii_case(name))
    }
}

impl Table {
    /// The column named `name` (without regard to case).
    pub fn column(&self, name: &str) -> Option<&Column> {
        self.columns
            .iter()
            .find(|c| c.name.eq_ignore_ascii_case(name))
    }

    /// The single-column primary key, if the key has one column.
    pub fn single_key(&self) -> Option<&str> {
        match self.primary_key.as_slice() {
            [k] => Some(k),
            _ => None,
        }
    }
}

fn text(v: &Value) -> String {
    match v {
        Value::Text(s) | Value::Decimal(s) => s.clone(),
        Value::Bytes(b) => String::from_utf8_lossy(b).into_owned(),
        other => other.key_text().unwrap_or_default(),
    }
}

async fn rows(db: &Database, sql: &str) -> Result<Vec<Vec<String>>, DbError> {
    let stmt = Statement {
        sql: sql.to_string(),
        params: Vec::new(),
        parts: None,
    };
    Ok(db
        .fetch(&stmt)
        .await?
        .iter()
        .map(|r| r.iter().map(text).collect())
        .collect())
}

/// Reads the catalog of the database's current schema (the `search_path`'s first schema on
/// PostgreSQL, the connection's database on MySQL/MariaDB).
pub async fn read_schema(db: &Database) -> Result<Schema, DbError> {
    let dialect = db.dialect();
    let mut tables = match dialect {
        Dialect::Sqlite => sqlite_tables(db).await?,
        Dialect::Postgres | Dialect::Mysql => catalog_tables(db, dialect).await?,
    };
    tables.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(Schema { tables })
}

async fn sqlite_tables(db: &Database) -> Result<Vec<Table>, DbError> {
    let lit = |s: &str| Dialect::Sqlite.string_literal(s);
    let mut tables = Vec::new();
    for t in rows(
        db,
        "SELECT name, type FROM sqlite_master WHERE type IN ('table', 'view') \
         AND name NOT LIKE 'sqlite_%' ORDER BY name",
    )
    .await?
    {
        let name = t[0].clone();
        let mut table = Table {
            view: t[1] == "view",
            ..Table::default()
        };
        let mut pk = Vec::new();
        for c in rows(
            db,
            &format!(
                "SELECT name, type, \"notnull\", pk FROM pragma_table_info({})",
                lit(&name)
            ),
        )
        .await?
        {
            table.columns.push(Column {
                name: c[0].clone(),
                declared: c[1].clone(),
                nullable: c[2] == "0",
            });
            if c[3] != "0" {
                pk.push((c[3].parse::<u32>().unwrap_or(0), c[0].clone()));
            }
        }
        pk.sort();
        table.primary_key = pk.into_iter().map(|(_, c)| c).collect();
        let mut last_id: Option<String> = None;
        for f in rows(
            db,
            &format!(
                "SELECT id, \"table\", \"from\", \"to\" FROM pragma_foreign_key_list({}) ORDER BY id, seq",
                lit(&name)
            ),
        )
        .await?
        {
            if last_id.as_deref() != Some(f[0].as_str()) {
                table.foreign_keys.push(ForeignKey {
                    ref_table: f[1].clone(),
                    ..ForeignKey::default()
                });
                last_id = Some(f[0].clone());
            }
            let k = table.foreign_keys.last_mut().expect("pushed");
            k.columns.push(f[2].clone());
            if !f[3].is_empty() {
                k.ref_columns.push(f[3].clone());
            }
        }
        let definitions: Vec<Vec<String>> = rows(
            db,
            &format!(
                "SELECT name, COALESCE(sql, '') FROM sqlite_master WHERE type = 'index' AND tbl_name = {}",
                lit(&name)
            ),
        )
        .await?;
        for i in rows(
            db,
            &format!(
                "SELECT name, \"unique\" FROM pragma_index_list({})",
                lit(&name)
            ),
        )
        .await?
        {
            let mut keys = Vec::new();
            let sql = definitions
                .iter()
                .find(|d| d[0] == i[0])
                .map(|d| d[1].clone())
                .unwrap_or_default();
            let expressions = index_keys(&sql);
            for (n, k) in rows(
                db,
                &format!(
                    "SELECT COALESCE(name, ''), cid FROM pragma_index_xinfo({}) WHERE key = 1 ORDER BY seqno",
                    lit(&i[0])
                ),
            )
            .await?
            .into_iter()
            .enumerate()
            {
                keys.push(if k[1] == "-2" {
                    expressions.get(n).cloned().unwrap_or_default()
                } else {
                    k[0].clone()
                });
            }
            table.indexes.push(Index {
                name: i[0].clone(),
                unique: i[1] == "1",
                keys,
            });
        }
        table.name = name;
        tables.push(table);
    }
    Ok(tables)
}

/// The leading key of every index, by table: table names and keys lower-cased, a key being a
/// column name or an expression's text as the catalog writes it (`lower((last_nm)::text)`).
/// One catalog query on PostgreSQL and MySQL/MariaDB, two on SQLite: cheap at start-up
/// however large the tables. Used to page a search in the order of an index only where one
/// exists ([`crate::mapping::Source::index_leads`]).
pub async fn index_leads(db: &Database) -> Result<Vec<(String, String)>, DbError> {
    let mut out: Vec<(String, String)> = Vec::new();
    match db.dialect() {
        Dialect::Postgres => {
            for i in rows(
                db,
                "SELECT tablename::text, indexdef FROM pg_indexes \
                 WHERE schemaname NOT IN ('pg_catalog', 'information_schema')",
            )
            .await?
            {
                if let Some(k) = index_keys(&i[1]).first() {
                    out.push((i[0].clone(), k.clone()));
                }
            }
        }
        Dialect::Mysql => {
            for i in rows(
                db,
                "SELECT table_name, COALESCE(column_name, '') FROM information_schema.statistics \
                 WHERE table_schema = DATABASE() AND seq_in_index = 1",
            )
            .await?
            {
                out.push((i[0].clone(), i[1].clone()));
            }
        }
        Dialect::Sqlite => {
            // Indexes made by UNIQUE constraints have no SQL text: their first column then.
            for i in rows(
                db,
                "SELECT m.tbl_name, COALESCE(m.sql, ''), COALESCE(c.name, '') FROM sqlite_master m \
                 LEFT JOIN pragma_index_info(m.name) c ON c.seqno = 0 WHERE m.type = 'index'",
            )
            .await?
            {
                let lead = match index_keys(&i[1]).first() {
                    Some(k) if !i[1].is_empty() => k.clone(),
                    _ => i[2].clone(),
                };
                out.push((i[0].clone(), lead));
            }
        }
    }
    for (t, k) in &mut out {
        *t = t.to_lowercase();
        *k = k.to_lowercase();
    }
    out.retain(|(_, k)| !k.is_empty());
    Ok(out)
}

/// The keys of a `CREATE INDEX ... ON t (k1, k2)` (or `USING btree (...)`) statement: the
/// top-level comma-separated items of its last parenthesized list, `ASC`/`DESC` removed.
pub fn index_keys(create: &str) -> Vec<String> {
    let Some(on) = create.to_ascii_uppercase().find(" ON ") else {
        return Vec::new();
    };
    let rest = &create[on..];
    let Some(open) = rest.find('(') else {
        return Vec::new();
    };
    let mut depth = 0;
    let mut keys = Vec::new();
    let mut current = String::new();
    for c in rest[open + 1..].chars() {
        match c {
            '(' => depth += 1,
            ')' if depth == 0 => break,
            ')' => depth -= 1,
            ',' if depth == 0 => {
                keys.push(std::mem::take(&mut current));
                continue;
            }
            _ => {}
        }
        current.push(c);
    }
    keys.push(current);
    keys.into_iter()
        .map(|k| {
            let k = k.trim();
            let upper = k.to_ascii_uppercase();
            let k = if upper.ends_with(" DESC") || upper.ends_with(" ASC") {
                k[..k.rfind(' ').unwrap_or(k.len())].trim()
            } else {
                k
            };
            k.to_string()
        })
        .filter(|k| !k.is_empty())
        .collect()
}

async fn catalog_tables(db: &Database, dialect: Dialect) -> Result<Vec<Table>, DbError> {
    let schema = dialect.choose("", "current_schema()", "DATABASE()");
    let t = |col: &str| dialect.choose(String::new(), format!("{col}::text"), col.to_string());
    let mut tables: Vec<Table> = rows(
        db,
        &format!(
            "SELECT {}, {} FROM information_schema.tables WHERE table_schema = {schema} ORDER BY 1",
            t("table_name"),
            t("table_type")
        ),
    )
    .await?
    .into_iter()
    .map(|r| Table {
        name: r[0].clone(),
        view: r[1].contains("VIEW"),
        ..Table::default()
    })
    .collect();
    let declared = dialect.choose(
        "",
        "CASE WHEN character_maximum_length IS NOT NULL THEN data_type || '(' || character_maximum_length || ')' \
         WHEN data_type = 'numeric' AND numeric_precision IS NOT NULL THEN 'numeric(' || numeric_precision || ',' || numeric_scale || ')' \
         ELSE data_type END",
        "column_type",
    );
    for c in rows(
        db,
        &format!(
            "SELECT {}, {}, {declared}, {} FROM information_schema.columns \
             WHERE table_schema = {schema} ORDER BY table_name, ordinal_position",
            t("table_name"),
            t("column_name"),
            t("is_nullable"),
        ),
    )
    .await?
    {
        if let Some(table) = tables.iter_mut().find(|x| x.name == c[0]) {
            table.columns.push(Column {
                name: c[1].clone(),
                declared: c[2].clone(),
                nullable: c[3] == "YES",
            });
        }
    }
    for k in rows(
        db,
        &format!(
            "SELECT {}, {} FROM information_schema.table_constraints tc \
             JOIN information_schema.key_column_usage kcu ON kcu.constraint_name = tc.constraint_name \
             AND kcu.table_schema = tc.table_schema AND kcu.table_name = tc.table_name \
             WHERE tc.constraint_type = 'PRIMARY KEY' AND tc.table_schema = {schema} \
             ORDER BY kcu.table_name, kcu.ordinal_position",
            t("kcu.table_name"),
            t("kcu.column_name"),
        ),
    )
    .await?
    {
        if let Some(table) = tables.iter_mut().find(|x| x.name == k[0]) {
            table.primary_key.push(k[1].clone());
        }
    }
    let foreign = match dialect {
        Dialect::Postgres => format!(
            "SELECT kcu.constraint_name::text, kcu.table_name::text, kcu.column_name::text, \
             rk.table_name::text, rk.column_name::text \
             FROM information_schema.referential_constraints rc \
             JOIN information_schema.key_column_usage kcu ON kcu.constraint_name = rc.constraint_name \
             AND kcu.constraint_schema = rc.constraint_schema \
             JOIN information_schema.key_column_usage rk ON rk.constraint_name = rc.unique_constraint_name \
             AND rk.constraint_schema = rc.unique_constraint_schema \
             AND rk.ordinal_position = kcu.position_in_unique_constraint \
             WHERE rc.constraint_schema = {schema} ORDER BY 2, 1, kcu.ordinal_position"
        ),
        _ => format!(
            "SELECT constraint_name, table_name, column_name, referenced_table_name, referenced_column_name \
             FROM information_schema.key_column_usage \
             WHERE table_schema = {schema} AND referenced_table_name IS NOT NULL \
             ORDER BY 2, 1, ordinal_position"
        ),
    };
    let mut last = (String::new(), String::new());
    for f in rows(db, &foreign).await? {
        let Some(table) = tables.iter_mut().find(|x| x.name == f[1]) else {
            continue;
        };
        if last != (f[0].clone(), f[1].clone()) {
            table.foreign_keys.push(ForeignKey {
                ref_table: f[3].clone(),
                ..ForeignKey::default()
            });
            last = (f[0].clone(), f[1].clone());
        }
        let k = table.foreign_keys.last_mut().expect("pushed");
        k.columns.push(f[2].clone());
        k.ref_columns.push(f[4].clone());
    }
    match dialect {
        Dialect::Postgres => {
            for i in rows(
                db,
                "SELECT tablename::text, indexname::text, indexdef FROM pg_indexes \
                 WHERE schemaname = current_schema() ORDER BY 1, 2",
            )
            .await?
            {
                if let Some(table) = tables.iter_mut().find(|x| x.name == i[0]) {
                    table.indexes.push(Index {
                        name: i[1].clone(),
                        unique: i[2].to_ascii_uppercase().starts_with("CREATE UNIQUE"),
                        keys: index_keys(&i[2]),
                    });
                }
            }
        }
        _ => {
            for i in rows(
                db,
                &format!(
                    "SELECT table_name, index_name, non_unique, COALESCE(column_name, '') \
                     FROM information_schema.statistics WHERE table_schema = {schema} \
                     ORDER BY table_name, index_name, seq_in_index"
                ),
            )
            .await?
            {
                let Some(table) = tables.iter_mut().find(|x| x.name == i[0]) else {
                    continue;
                };
                if table.indexes.last().is_none_or(|x| x.name != i[1]) {
                    table.indexes.push(Index {
                        name: i[1].clone(),
                        unique: i[2] == "0",
                        keys: Vec::new(),
                    });
                }
                table
                    .indexes
                    .last_mut()
                    .expect("pushed")
                    .keys
                    .push(i[3].clone());
            }
        }
    }
    Ok(tables)
}

/// The number of rows of `table` (written as in SQL): the planner's estimate where the
/// database keeps one (PostgreSQL's `reltuples`, MySQL/MariaDB's `table_rows`), else counted.
pub async fn row_count(db: &Database, table: &str) -> Result<u64, DbError> {
    if let Some(n) = row_estimate(db, table).await? {
        return Ok(n);
    }
    let sql = format!("SELECT COUNT(*) FROM {table}");
    Ok(rows(db, &sql)
        .await?
        .first()
        .and_then(|r| r.first()?.parse().ok())
        .unwrap_or(0))
}

/// The planner's estimate of the rows of `table`, read from the catalog (no row is read):
/// `None` on SQLite, which keeps none, or when the catalog does not know the table.
pub async fn row_estimate(db: &Database, table: &str) -> Result<Option<u64>, DbError> {
    let sql = match db.dialect() {
        Dialect::Sqlite => return Ok(None),
        Dialect::Postgres => format!(
            "SELECT COALESCE((SELECT reltuples::bigint FROM pg_class WHERE oid = to_regclass({})), -1)",
            Dialect::Postgres.string_literal(table)
        ),
        Dialect::Mysql => format!(
            "SELECT COALESCE((SELECT table_rows FROM information_schema.tables \
             WHERE table_schema = DATABASE() AND table_name = {}), -1)",
            Dialect::Mysql.string_literal(table)
        ),
    };
    Ok(rows(db, &sql)
        .await?
        .first()
        .and_then(|r| r.first()?.parse::<i64>().ok())
        .and_then(|n| u64::try_from(n).ok()))
}

/// Up to `limit` distinct non-NULL values of `column` of `table` (both as the catalog spells
/// them), most frequent first, with their counts; `None` when there are more than `limit`.
pub async fn distinct_values(
    db: &Database,
    table: &str,
    column: &str,
    limit: usize,
) -> Result<Option<Vec<(String, u64)>>, DbError> {
    let d = db.dialect();
    let (t, c) = (d.quote_ident(table), d.quote_ident(column));
    let sql = format!(
        "SELECT {c}, COUNT(*) FROM {t} WHERE {c} IS NOT NULL GROUP BY {c} ORDER BY 2 DESC, 1 LIMIT {}",
        limit + 1
    );
    let values: Vec<(String, u64)> = rows(db, &sql)
        .await?
        .into_iter()
        .map(|r| (r[0].clone(), r[1].parse().unwrap_or(0)))
        .collect();
    Ok((values.len() <= limit).then_some(values))
}

/// One non-NULL value of `column` of `table`, if any (to tell how a date stored as text is
/// written).
pub async fn sample_value(
    db: &Database,
    table: &str,
    column: &str,
) -> Result<Option<Value>, DbError> {
    let d = db.dialect();
    let (t, c) = (d.quote_ident(table), d.quote_ident(column));
    let stmt = Statement {
        sql: format!("SELECT {c} FROM {t} WHERE {c} IS NOT NULL LIMIT 1"),
        params: Vec::new(),
        parts: None,
    };
    Ok(db
        .fetch(&stmt)
        .await?
        .into_iter()
        .next()
        .and_then(|r| r.into_iter().next()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_of_index_definitions() {
        assert_eq!(
            index_keys("CREATE INDEX ix ON PATIENT (LAST_NM, PAT_ID DESC)"),
            ["LAST_NM", "PAT_ID"]
        );
        assert_eq!(
            index_keys(
                "CREATE UNIQUE INDEX ix ON public.patient USING btree (lower((last_nm)::text) COLLATE \"C\")"
            ),
            ["lower((last_nm)::text) COLLATE \"C\""]
        );
        assert_eq!(index_keys("CREATE INDEX ix"), Vec::<String>::new());
    }
}
