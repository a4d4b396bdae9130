//! What the three backends do alike: run a statement and decode its rows, describe a query's
//! columns. Each backend supplies only its row decoder and its type classification.

use sea_query_sqlx::SqlxValues;
use sqlx::pool::PoolOptions;
use sqlx::{AssertSqlSafe, Column, Executor, IntoArguments, Pool, SqlSafeStr, TypeInfo};

use super::{DbError, DbSettings};
use crate::sql::{DbColumn, Row, SqlType, Statement};

/// The pool options every backend starts from: its size and how long to wait for a
/// connection.
pub(super) fn pool_options<DB: sqlx::Database>(settings: &DbSettings) -> PoolOptions<DB> {
    PoolOptions::new()
        .max_connections(settings.max_connections)
        .acquire_timeout(settings.connect_timeout)
}

/// Opens `pool` with `options`: connected now, or when first used (`lazy`, so that a replica
/// that is down does not stop the server).
pub(super) async fn open<DB: sqlx::Database>(
    pool: PoolOptions<DB>,
    options: <DB::Connection as sqlx::Connection>::Options,
    lazy: bool,
) -> Result<Pool<DB>, DbError> {
    if lazy {
        Ok(pool.connect_lazy_with(options))
    } else {
        pool.connect_with(options).await.map_err(DbError::from_sqlx)
    }
}

/// Runs `stmt` on `pool` and decodes every row with `decode`.
pub(super) async fn fetch<DB>(
    pool: &Pool<DB>,
    stmt: &Statement,
    decode: fn(&DB::Row) -> Result<Row, sqlx::Error>,
) -> Result<Vec<Row>, DbError>
where
    DB: sqlx::Database,
    SqlxValues: IntoArguments<DB>,
    for<'c> &'c Pool<DB>: Executor<'c, Database = DB>,
{
    let values = SqlxValues(sea_query::Values(stmt.params.clone()));
    // The text comes from the planner and the mapping file only; request values are bound
    // parameters.
    let rows = sqlx::query_with(AssertSqlSafe(stmt.sql.as_str()), values)
        .fetch_all(pool)
        .await
        .map_err(DbError::from_sqlx)?;
    rows.iter()
        .map(decode)
        .collect::<Result<_, _>>()
        .map_err(DbError::from_sqlx)
}

/// How a backend classifies a column type name: what it holds, and whether the façade can
/// decode it.
pub(super) type Classify = fn(&str) -> (SqlType, bool);

/// The columns `select` would return, without running it.
pub(super) async fn describe<DB>(
    pool: &Pool<DB>,
    select: &str,
    classify: Classify,
) -> Result<Vec<DbColumn>, DbError>
where
    DB: sqlx::Database,
    for<'c> &'c Pool<DB>: Executor<'c, Database = DB>,
{
    let stmt = pool
        .prepare(AssertSqlSafe(select).into_sql_str())
        .await
        .map_err(DbError::from_sqlx)?;
    Ok(sqlx::Statement::columns(&stmt)
        .iter()
        .map(|c| {
            let type_name = c.type_info().name().to_string();
            let (sql_type, decodable) = classify(&type_name);
            DbColumn {
                name: c.name().to_string(),
                sql_type,
                decodable,
                type_name,
                scale: None,
                char_len: None,
            }
        })
        .collect())
}
