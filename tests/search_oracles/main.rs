//! Live-database oracle tests of the date and number search predicates: random stored values
//! and random search values, the SQL predicate run on SQLite, PostgreSQL and MySQL/MariaDB, and
//! the rows found compared with the pure Rust oracles (`date::matches`, `number::matches`).
//!
//! Servers come from `support/servers.rs` (`FHIR_FACADE_TEST_PG_URL`,
//! `FHIR_FACADE_TEST_MYSQL_URL`); an unreachable server is skipped with a notice, except
//! under `CI=true`, where that is a failure. One test binary (faster to build); one module per
//! search type.

#[path = "../support/servers.rs"]
mod servers;

mod date;
mod number;
