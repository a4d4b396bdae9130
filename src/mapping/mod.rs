//! The mapping layer: `mapping.toml` → a checked, typed [`Mapping`].
//!
//! - [`file`](mod@file): the file's raw TOML shape;
//! - [`compile`]: checks it against the FHIR R4 definitions (pure);
//! - [`schema_check`]: checks it against the live database's columns (pure, columns passed in);
//! - [`model`]: the result used by planning and assembly.
//!
//! The language is documented, construct by construct, in `docs/mapping.md`.

pub mod compile;
pub mod error;
pub mod file;
pub mod layout;
pub mod live;
pub mod model;
pub mod references;
pub mod schema_check;
pub mod search_bind;
pub mod shape;
pub mod sql;
pub mod text_date;
pub mod typing;

pub use error::{MappingError, MappingLoadError};
pub use layout::{ChildLayout, SourceLayout};
pub use model::*;

use crate::fhir::Definitions;
use crate::sql::Dialect;

/// Compiles mapping text (read from `path`, named in messages) for `dialect`.
pub fn parse(path: &str, text: &str, dialect: Dialect) -> Result<Mapping, MappingLoadError> {
    compile::compile(text, Definitions::r4(), dialect).map_err(|errors| MappingLoadError::Invalid {
        path: path.to_string(),
        errors,
    })
}

/// Reads and compiles the mapping file at `path` for `dialect`.
pub fn load(path: &str, dialect: Dialect) -> Result<Mapping, MappingLoadError> {
    let text = read(path)?;
    parse(path, &text, dialect)
}

/// Reads and compiles what can be compiled of the mapping file at `path` for `dialect`: the
/// mapping without its parts that have problems, and the problems (see
/// [`compile::compile_partial`]).
pub fn load_partial(
    path: &str,
    dialect: Dialect,
) -> Result<(Mapping, Vec<MappingError>), MappingLoadError> {
    let text = read(path)?;
    compile::compile_partial(&text, Definitions::r4(), dialect).map_err(|errors| {
        MappingLoadError::Invalid {
            path: path.to_string(),
            errors,
        }
    })
}

fn read(path: &str) -> Result<String, MappingLoadError> {
    std::fs::read_to_string(path).map_err(|source| MappingLoadError::Io {
        path: path.to_string(),
        source,
    })
}

/// The repository's sample `mapping.toml`, compiled for SQLite without a database (for unit
/// tests of the layers that read a mapping).
#[cfg(test)]
pub fn sample() -> Mapping {
    load(
        concat!(env!("CARGO_MANIFEST_DIR"), "/mapping.toml"),
        crate::sql::Dialect::Sqlite,
    )
    .expect("the sample mapping compiles")
}
