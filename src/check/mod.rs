//! Checking a mapping against FHIR and a live database, reporting every problem at once:
//! what start-up runs before serving (and what a `check` command prints).
//!
//! 1. The file is compiled as far as it can be (FHIR paths, types, bindings, value maps,
//!    search parameters), each problem with its line ([`crate::mapping::load_partial`]).
//! 2. What compiled is checked against the database: tables and columns, the SQL types of
//!    values, and a probe query per source that selects every mapped value
//!    ([`crate::mapping::live::check`]).
//! 3. Where all that holds, every declared search parameter is planned with a representative
//!    value (and `:missing`, and as a sort key where it sorts) and the database prepares the
//!    statement without running it ([`search_probes`]): an expression that does not compare
//!    with a bound value, or an `sql` parameter that does not parse, is found here rather than
//!    by the first client. So is the read statement of every source with child tables
//!    ([`read_probes`]: the row and its children in one statement).

mod probes;

pub use probes::{read_probes, search_probes};

use std::collections::HashSet;

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
/// compiled, and every problem found (sorted by line; none when it can be served). What does
/// not compile is left out of the mapping, so the search probes run on the rest, except on
/// the resource types of which a source failed the live check (their SQL would fail for the
/// same reason). Fails only when the file cannot be read or parsed at all.
pub async fn check_all(
    path: &str,
    db: &Database,
    caps: &Caps,
) -> Result<(Mapping, Vec<MappingError>), MappingLoadError> {
    let (mut mapping, mut errors) = mapping::load_partial(path, db.dialect())?;
    let live = mapping::live::check(&mut mapping, db).await;
    let failed = types_with_errors(&mapping, &live);
    errors.extend(live);
    errors.extend(search_probes(&mapping, db, caps, &failed).await);
    errors.extend(read_probes(&mapping, db, caps, &failed).await);
    errors.sort_by_key(|e: &MappingError| e.line);
    Ok((mapping, errors))
}

/// The resource types with a source whose lines (from its `[[resource]]` to the next one)
/// hold one of `errors`; every type when an error has no line.
fn types_with_errors(mapping: &Mapping, errors: &[MappingError]) -> HashSet<String> {
    let mut starts: Vec<(usize, &str)> = mapping
        .sources
        .iter()
        .map(|s| (s.line, s.resource_type.as_str()))
        .collect();
    starts.sort();
    let mut out = HashSet::new();
    for e in errors {
        match starts.iter().rev().find(|(line, _)| *line <= e.line) {
            Some((_, t)) if e.line > 0 => {
                out.insert(t.to_string());
            }
            _ => out.extend(mapping.types.keys().cloned()),
        }
    }
    out
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
