//! `_include` and `_revinclude`: the resources a page's matches refer to, and those that refer
//! to them, read in one statement per source per round (plus the batched child-table reads),
//! never one per resource.
//!
//! Round 0 applies every include to the matches; each further round applies the `:iterate`
//! ones to the resources the previous round added, until a round adds nothing. A resource is
//! served once (a match is never included again). At most `cap` resources are included per
//! page: each statement is limited so that it cannot read much more than what is still
//! allowed, and reaching the cap stops the search for more (the caller reports it).

use std::collections::{HashMap, HashSet};

use indexmap::{IndexMap, IndexSet};
use serde_json::{Map, Value as Json};

use super::rows::build_resources;
use super::search::SearchError;
use crate::assemble::resource::row_id;
use crate::db::{Database, QueryCounter, Row};
use crate::mapping::references::{RefLink, leaf_json_path};
use crate::mapping::{LeafRef, Mapping, Source};
use crate::plan::include::{RefKeys, rows_by_key, rows_referring};
use crate::plan::read::key_for_id;
use crate::plan::search::Context;
use crate::plan::{KeyValue, SourceLayout};
use crate::request::include::Include;

/// Most keys bound in one statement (far below every backend's parameter limit).
const MAX_KEYS_PER_STATEMENT: usize = 1000;

/// The included resources of a page.
#[derive(Debug, Default)]
pub struct Included {
    /// In the order they were found.
    pub resources: Vec<Map<String, Json>>,
    /// More would have been included than the cap allows.
    pub truncated: bool,
}

/// A resource's type and id.
type Identity = (String, String);

fn identity(r: &Map<String, Json>) -> Option<Identity> {
    Some((
        r.get("resourceType")?.as_str()?.to_string(),
        r.get("id")?.as_str()?.to_string(),
    ))
}

/// The source that serves `ty`/`id`, and the id's key in it.
fn locate<'a>(mapping: &'a Mapping, ty: &str, id: &str) -> Option<(&'a Source, KeyValue)> {
    let (source, rest) = mapping.source_for_id(ty, id)?;
    Some((source, key_for_id(source, rest)?))
}

fn key_text(k: &KeyValue) -> String {
    match k {
        KeyValue::Int(i) => i.to_string(),
        KeyValue::Text(s) => s.clone(),
    }
}

/// The `reference` strings of the elements at `path` under `v` (every item of a list).
fn references<'j>(v: &'j Json, path: &[&str], out: &mut Vec<&'j str>) {
    match v {
        Json::Array(items) => {
            for item in items {
                references(item, path, out);
            }
        }
        Json::Object(m) => match path.split_first() {
            Some((first, rest)) => {
                if let Some(child) = m.get(*first) {
                    references(child, rest, out);
                }
            }
            None => {
                if let Some(Json::String(s)) = m.get("reference") {
                    out.push(s);
                }
            }
        },
        _ => {}
    }
}

/// What one round reads.
#[derive(Default)]
struct Wanted<'a> {
    /// Target source (by name) → id keys to read.
    by_key: IndexMap<&'a str, (&'a Source, IndexSet<KeyValue>)>,
    /// Referring source (by name) → reference element → keys it must hold.
    referring: IndexMap<&'a str, (&'a Source, IndexMap<LeafRef, IndexSet<String>>)>,
}

/// What following `links` from `frontier` asks for (resources already `known` left out).
fn wanted<'a>(
    mapping: &'a Mapping,
    known: &HashSet<Identity>,
    frontier: &[Map<String, Json>],
    links: &[(bool, RefLink<'a>)],
) -> Wanted<'a> {
    let mut w = Wanted::default();
    for r in frontier {
        let Some((ty, id)) = identity(r) else {
            continue;
        };
        let Some((source, key)) = locate(mapping, &ty, &id) else {
            continue;
        };
        for (reverse, link) in links {
            if *reverse {
                if link.target.name != source.name {
                    continue;
                }
                w.referring
                    .entry(link.from.name.as_str())
                    .or_insert_with(|| (link.from, IndexMap::new()))
                    .1
                    .entry(link.leaf)
                    .or_default()
                    .insert(key_text(&key));
                continue;
            }
            if link.from.name != source.name {
                continue;
            }
            let mut refs = Vec::new();
            let path = leaf_json_path(link.from, link.leaf);
            if let Some((first, rest)) = path.split_first()
                && let Some(v) = r.get(*first)
            {
                references(v, rest, &mut refs);
            }
            for reference in refs {
                let Some((t, target_id)) = reference.split_once('/') else {
                    continue;
                };
                if t != link.target_type() || known.contains(&(t.to_string(), target_id.into())) {
                    continue;
                }
                let Some((target, k)) = locate(mapping, t, target_id) else {
                    continue;
                };
                if target.name == link.target.name {
                    w.by_key
                        .entry(target.name.as_str())
                        .or_insert_with(|| (target, IndexSet::new()))
                        .1
                        .insert(k);
                }
            }
        }
    }
    w
}

/// The state of one request's includes.
struct Run<'a> {
    mapping: &'a Mapping,
    db: &'a Database,
    base_url: &'a str,
    counter: &'a QueryCounter,
    cap: usize,
    known: HashSet<Identity>,
    /// Known resources per source name (rows a referring statement may return again).
    known_per_source: HashMap<String, usize>,
    out: Vec<Map<String, Json>>,
    truncated: bool,
}

impl<'a> Run<'a> {
    fn remember(&mut self, source: &Source, identity: Identity) -> bool {
        if !self.known.insert(identity) {
            return false;
        }
        *self
            .known_per_source
            .entry(source.name.clone())
            .or_default() += 1;
        true
    }

    /// Keeps the rows of `fetched` not served yet, up to the cap.
    fn keep(
        &mut self,
        source: &Source,
        layout: &SourceLayout,
        fetched: Vec<Row>,
        kept: &mut Vec<Row>,
    ) {
        for row in fetched {
            let Some(id) = row_id(source, layout, &row) else {
                continue;
            };
            let identity = (source.resource_type.clone(), id);
            if self.known.contains(&identity) {
                continue;
            }
            if self.out.len() + kept.len() >= self.cap {
                self.truncated = true;
                return;
            }
            self.remember(source, identity);
            kept.push(row);
        }
    }

    /// The statement limit: what may still be included, one more to tell that there is more,
    /// and as many again as this source has resources served already (they may come back).
    fn limit(&self, source: &Source, kept: usize) -> usize {
        let remaining = self.cap.saturating_sub(self.out.len() + kept);
        let again = self
            .known_per_source
            .get(&source.name)
            .copied()
            .unwrap_or(0);
        remaining + 1 + again
    }

    async fn build(
        &mut self,
        source: &Source,
        layout: &SourceLayout,
        rows: Vec<Row>,
    ) -> Result<(), SearchError> {
        if rows.is_empty() {
            return Ok(());
        }
        let built =
            build_resources(self.mapping, self.db, source, layout, &rows, self.counter).await?;
        self.out.extend(built.into_iter().flatten());
        Ok(())
    }

    async fn by_key(
        &mut self,
        source: &'a Source,
        keys: &IndexSet<KeyValue>,
    ) -> Result<(), SearchError> {
        let layout = SourceLayout::of(source);
        let keys: Vec<KeyValue> = keys.iter().cloned().collect();
        let mut kept = Vec::new();
        for chunk in keys.chunks(MAX_KEYS_PER_STATEMENT) {
            let limit = self.limit(source, kept.len());
            let stmt = rows_by_key(source, &layout, chunk, limit, self.db.dialect());
            let fetched = self.db.fetch(&stmt, self.counter).await?;
            self.keep(source, &layout, fetched, &mut kept);
            if self.truncated {
                break;
            }
        }
        self.build(source, &layout, kept).await
    }

    async fn referring(
        &mut self,
        source: &'a Source,
        refs: &IndexMap<LeafRef, IndexSet<String>>,
    ) -> Result<(), SearchError> {
        let layout = SourceLayout::of(source);
        let cx = Context {
            source,
            dialect: self.db.dialect(),
            tz: self.mapping.timezone,
            base_url: self.base_url,
            mapping: self.mapping,
            accents: self.db.accents(),
        };
        let pairs: Vec<(LeafRef, &String)> = refs
            .iter()
            .flat_map(|(leaf, keys)| keys.iter().map(|k| (*leaf, k)))
            .collect();
        let mut kept = Vec::new();
        for chunk in pairs.chunks(MAX_KEYS_PER_STATEMENT) {
            let mut grouped: Vec<RefKeys> = Vec::new();
            for (leaf, key) in chunk {
                match grouped.iter_mut().find(|g| g.leaf == *leaf) {
                    Some(g) => g.keys.push((*key).clone()),
                    None => grouped.push(RefKeys {
                        leaf: *leaf,
                        keys: vec![(*key).clone()],
                    }),
                }
            }
            let limit = self.limit(source, kept.len());
            let stmt = rows_referring(&cx, &layout, &grouped, limit)?;
            let fetched = self.db.fetch(&stmt, self.counter).await?;
            self.keep(source, &layout, fetched, &mut kept);
            if self.truncated {
                break;
            }
        }
        self.build(source, &layout, kept).await
    }

    async fn read(&mut self, wanted: Wanted<'a>) -> Result<(), SearchError> {
        for (source, keys) in wanted.by_key.values() {
            self.by_key(source, keys).await?;
            if self.truncated {
                return Ok(());
            }
        }
        for (source, refs) in wanted.referring.values() {
            self.referring(source, refs).await?;
            if self.truncated {
                return Ok(());
            }
        }
        Ok(())
    }
}

/// Follows `includes` from `matches`: at most `cap` resources, none of them a match.
pub async fn include(
    mapping: &Mapping,
    db: &Database,
    includes: &[Include],
    matches: &[Map<String, Json>],
    cap: usize,
    base_url: &str,
    counter: &QueryCounter,
) -> Result<Included, SearchError> {
    if includes.is_empty() || matches.is_empty() {
        return Ok(Included::default());
    }
    let all: Vec<(bool, RefLink)> = includes
        .iter()
        .flat_map(|i| i.links(mapping).into_iter().map(|l| (i.reverse, l)))
        .collect();
    let iterating: Vec<(bool, RefLink)> = includes
        .iter()
        .filter(|i| i.iterate)
        .flat_map(|i| i.links(mapping).into_iter().map(|l| (i.reverse, l)))
        .collect();
    let mut run = Run {
        mapping,
        db,
        base_url,
        counter,
        cap,
        known: HashSet::new(),
        known_per_source: HashMap::new(),
        out: Vec::new(),
        truncated: false,
    };
    for r in matches {
        if let Some((ty, id)) = identity(r)
            && let Some((source, _)) = locate(mapping, &ty, &id)
        {
            run.remember(source, (ty, id));
        }
    }
    let mut wanted_now = wanted(mapping, &run.known, matches, &all);
    loop {
        let start = run.out.len();
        run.read(wanted_now).await?;
        if run.truncated || run.out.len() == start || iterating.is_empty() {
            break;
        }
        wanted_now = wanted(mapping, &run.known, &run.out[start..], &iterating);
    }
    Ok(Included {
        resources: run.out,
        truncated: run.truncated,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn references_are_found_in_every_list_item() {
        let r = json!({
            "performer": [{"reference": "Practitioner/1"}, {"reference": "Organization/2"}],
            "subject": {"reference": "Patient/3", "display": "x"},
            "participant": [{"individual": {"reference": "Practitioner/4"}}, {"type": []}]
        });
        let mut out = Vec::new();
        references(&r["performer"], &[], &mut out);
        references(&r["subject"], &[], &mut out);
        references(&r["participant"], &["individual"], &mut out);
        assert_eq!(
            out,
            [
                "Practitioner/1",
                "Organization/2",
                "Patient/3",
                "Practitioner/4"
            ]
        );
    }
}
