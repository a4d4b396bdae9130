//! Checking a mapping against FHIR and a live database, reporting every problem at once:
//! what start-up runs before serving (and what a `check` command prints).
//!
//! 1. The file is compiled as far as it can be (FHIR paths, types, bindings, value maps,
//!    search parameters), each problem with its line ([`crate::mapping::load_partial`]).
//! 2. What compiled is checked against the database: tables and columns, the SQL types of
//!    values, and a probe query per source that selects every mapped value
//!    ([`crate::mapping::live::check`]).
//! 3. When all that holds, every declared search parameter is planned with a representative
//!    value (and `:missing`, and as a sort key where it sorts) and the database prepares the
//!    statement without running it ([`search_probes`]): an expression that does not compare
//!    with a bound value, or an `sql` parameter that does not parse, is found here rather than
//!    by the first client.

mod probes;

pub use probes::search_probes;

use crate::db::Database;
use crate::mapping::{self, Mapping, MappingError, MappingLoadError};
use crate::sql::Caps;

/// Loads the mapping at `path` and checks it against `db`: the checked mapping, or every
/// problem found (sorted by line).
pub async fn load_checked(
    path: &str,
    db: &Database,
    caps: &Caps,
) -> Result<Mapping, MappingLoadError> {
    let (mapping, errors) = check_all(path, db, caps).await?;
    if errors.is_empty() {
        return Ok(mapping);
    }
    Err(MappingLoadError::Invalid {
        path: path.to_string(),
        errors,
    })
}

/// Loads the mapping at `path` as far as it compiles and checks it against `db`: what
/// compiled, and every problem found (sorted by line; none when it can be served). The search
/// probes run when nothing else is wrong (they plan with the checked mapping). Fails only
/// when the file cannot be read or parsed at all.
pub async fn check_all(
    path: &str,
    db: &Database,
    caps: &Caps,
) -> Result<(Mapping, Vec<MappingError>), MappingLoadError> {
    let (mut mapping, mut errors) = mapping::load_partial(path, db.dialect())?;
    errors.extend(mapping::live::check(&mut mapping, db).await);
    if errors.is_empty() {
        errors.extend(search_probes(&mapping, db, caps).await);
    }
    errors.sort_by_key(|e: &MappingError| e.line);
    Ok((mapping, errors))
}

/// Loads the mapping at `path` and checks it against `db` as [`load_checked`] does, but
/// without the search probes (which only validate): for tools that plan with the mapping of a
/// database already checked, such as `explain`.
pub async fn load_live(path: &str, db: &Database) -> Result<Mapping, MappingLoadError> {
    let (mut mapping, mut errors) = mapping::load_partial(path, db.dialect())?;
    errors.extend(mapping::live::check(&mut mapping, db).await);
    if errors.is_empty() {
        return Ok(mapping);
    }
    errors.sort_by_key(|e: &MappingError| e.line);
    Err(MappingLoadError::Invalid {
        path: path.to_string(),
        errors,
    })
}
