//! `_include` and `_revinclude`: the resources a page's matches refer to, and those that refer
//! to them, read as searches (`_id=a,b,...`, `subject=Patient/1,Patient/2,...`): one statement
//! per included type per round over all its sources (plus the batched child-table reads),
//! never one per resource.
//!
//! Round 0 applies every include to the matches; each further round applies the `:iterate`
//! ones to the resources the previous round added, until a round adds nothing. A resource is
//! served once (a match is never included again). At most `cap` resources are included per
//! page: each statement is limited so that it cannot read much more than what is still
//! allowed, and reaching the cap stops the search for more (the caller reports it).

use std::collections::{HashMap, HashSet};

use indexmap::{IndexMap, IndexSet};
use serde_json::Value as Json;

use super::ServiceError;
use super::matches::Session;
use crate::assemble::served::Resource;
use crate::mapping::references::{RefLink, leaf_json_path};
use crate::mapping::{Mapping, Source};
use crate::plan::MAX_KEYS_PER_STATEMENT;
use crate::request::criterion::Criterion;
use crate::request::include::Include;
use crate::request::search::SearchRequest;

/// The included resources of a page.
#[derive(Debug, Default)]
pub struct Included<'a> {
    /// In the order they were found.
    pub resources: Vec<Resource<'a>>,
    /// More would have been included than the cap allows.
    pub truncated: bool,
}

/// A resource's type and id.
type Identity = (String, String);

fn identity(r: &Resource) -> Option<Identity> {
    let (ty, id) = (r.resource_type(), r.id());
    (!ty.is_empty() && !id.is_empty()).then(|| (ty.to_string(), id.to_string()))
}

/// The source that serves `ty`/`id` (`None` when no source could have it).
fn locate<'a>(mapping: &'a Mapping, ty: &str, id: &str) -> Option<&'a Source> {
    mapping.locate(ty, id).map(|(source, _)| source)
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

/// What one round reads, per resource type.
#[derive(Default)]
struct Wanted {
    /// `_include`: type → ids of the resources to read.
    by_id: IndexMap<String, IndexSet<String>>,
    /// `_revinclude`: referring type → reference parameter → the resources (type, id) the
    /// resources to read refer to.
    referring: IndexMap<String, IndexMap<String, IndexSet<Identity>>>,
}

/// What following `links` from `frontier` asks for (resources already `known` left out).
fn wanted(
    mapping: &Mapping,
    known: &HashSet<Identity>,
    frontier: &[Resource],
    links: &[(bool, RefLink<'_>)],
) -> Wanted {
    let mut w = Wanted::default();
    for r in frontier {
        // References are looked up in the JSON form, made once a resource has a link to follow.
        let mut json = None;
        let Some((ty, id)) = identity(r) else {
            continue;
        };
        let Some(source) = locate(mapping, &ty, &id) else {
            continue;
        };
        for (reverse, link) in links {
            if *reverse {
                if link.target.name == source.name {
                    w.referring
                        .entry(link.from_type().to_string())
                        .or_default()
                        .entry(link.code.to_string())
                        .or_default()
                        .insert((ty.clone(), id.clone()));
                }
                continue;
            }
            if link.from.name != source.name {
                continue;
            }
            let mut refs = Vec::new();
            let path = leaf_json_path(link.from, link.leaf);
            let json = json.get_or_insert_with(|| r.to_map());
            if let Some((first, rest)) = path.split_first()
                && let Some(v) = json.get(*first)
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
                if locate(mapping, t, target_id).is_some_and(|s| s.name == link.target.name) {
                    w.by_id
                        .entry(t.to_string())
                        .or_default()
                        .insert(target_id.to_string());
                }
            }
        }
    }
    w
}

/// The state of one request's includes.
struct Run<'s, 'a> {
    session: &'s Session<'a>,
    cap: usize,
    known: HashSet<Identity>,
    /// Known resources per type (rows a statement may return again).
    known_per_type: HashMap<String, usize>,
    out: Vec<Resource<'a>>,
    truncated: bool,
}

impl Run<'_, '_> {
    fn remember(&mut self, identity: Identity) -> bool {
        let ty = identity.0.clone();
        if !self.known.insert(identity) {
            return false;
        }
        *self.known_per_type.entry(ty).or_default() += 1;
        true
    }

    /// Reads the resources of `resource_type` matching `filter`, as a search does (one
    /// statement over all its sources, plus one per child table), and keeps those not served
    /// yet, up to the cap. The statement asks for what may still be included, one more to
    /// tell that there is more, and as many again as this type has resources served already
    /// (they may come back).
    async fn fetch(
        &mut self,
        resource_type: &str,
        criterion: Criterion,
    ) -> Result<(), ServiceError> {
        let again = self.known_per_type.get(resource_type).copied().unwrap_or(0);
        let remaining = self.cap.saturating_sub(self.out.len());
        let mut req = SearchRequest::new(resource_type, remaining + 1 + again);
        req.criteria.push(criterion);
        let page = self.session.matches(&req, None).await?;
        for r in page.resources {
            let Some(identity) = identity(&r) else {
                continue;
            };
            if self.known.contains(&identity) {
                continue;
            }
            if self.out.len() >= self.cap {
                self.truncated = true;
                return Ok(());
            }
            self.remember(identity);
            self.out.push(r);
        }
        Ok(())
    }

    async fn read(&mut self, wanted: Wanted) -> Result<(), ServiceError> {
        for (ty, ids) in wanted.by_id {
            let ids: Vec<String> = ids.into_iter().collect();
            for chunk in ids.chunks(MAX_KEYS_PER_STATEMENT) {
                let ids = chunk.iter().map(String::as_str);
                self.fetch(&ty, Criterion::ids(ids)).await?;
                if self.truncated {
                    return Ok(());
                }
            }
        }
        for (ty, params) in wanted.referring {
            let pairs: Vec<(String, Identity)> = params
                .into_iter()
                .flat_map(|(p, refs)| refs.into_iter().map(move |r| (p.clone(), r)))
                .collect();
            for chunk in pairs.chunks(MAX_KEYS_PER_STATEMENT) {
                // One criterion per parameter, any of which may hold.
                let mut by_param: IndexMap<&str, Vec<(&str, &str)>> = IndexMap::new();
                for (p, (t, id)) in chunk {
                    by_param.entry(p).or_default().push((t, id));
                }
                let criteria = by_param
                    .into_iter()
                    .map(|(p, refs)| Criterion::references(p, refs))
                    .collect();
                let Some(criterion) = Criterion::any(criteria) else {
                    continue;
                };
                self.fetch(&ty, criterion).await?;
                if self.truncated {
                    return Ok(());
                }
            }
        }
        Ok(())
    }
}

impl<'a> Session<'a> {
    /// Follows `includes` from `matches`: at most the server's `max_includes` resources, none
    /// of them a match.
    pub async fn include(
        &self,
        includes: &[Include],
        matches: &[Resource<'_>],
    ) -> Result<Included<'a>, ServiceError> {
        if includes.is_empty() || matches.is_empty() {
            return Ok(Included::default());
        }
        let mapping = self.fhir.mapping();
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
            session: self,
            cap: self.fhir.limits.max_includes,
            known: HashSet::new(),
            known_per_type: HashMap::new(),
            out: Vec::new(),
            truncated: false,
        };
        for r in matches {
            if let Some(identity) = identity(r) {
                run.remember(identity);
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
