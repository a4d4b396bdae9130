//! The references the declared search parameters follow: from a mapped `reference` element of
//! one source to the source whose ids its values are. `_include`, `_revinclude` and the
//! CapabilityStatement's `searchInclude`/`searchRevInclude` are built from these. Pure.

use super::{
    Convert, ElementMapping, ElementValue, LeafRef, Location, Mapping, SearchTarget, Source,
};

/// One reference a search parameter follows in one source.
#[derive(Debug, Clone, Copy)]
pub struct RefLink<'a> {
    /// The referring source.
    pub from: &'a Source,
    /// The reference search parameter's code.
    pub code: &'a str,
    /// The mapped `reference` element it reads.
    pub leaf: LeafRef,
    /// The source the reference values point into.
    pub target: &'a Source,
}

impl RefLink<'_> {
    /// The referring resource type.
    pub fn from_type(&self) -> &str {
        &self.from.resource_type
    }

    /// The type referred to.
    pub fn target_type(&self) -> &str {
        &self.target.resource_type
    }
}

/// The element a leaf names.
pub fn leaf_element(source: &Source, leaf: LeafRef) -> Option<&ElementMapping> {
    match (leaf.location, leaf.element) {
        (Location::Row, Some(i)) => source.elements.get(i),
        (Location::Child(c), Some(i)) => source.children.get(c)?.elements.get(i),
        (Location::Child(c), None) => source.children.get(c)?.value.as_ref(),
        (Location::Row, None) => None,
    }
}

/// The JSON property names from the resource's root to the element of `leaf` (list indexes
/// left out: every item of a list is looked at).
pub fn leaf_json_path(source: &Source, leaf: LeafRef) -> Vec<&str> {
    let mut out: Vec<&str> = Vec::new();
    if let Location::Child(c) = leaf.location
        && let Some(child) = source.children.get(c)
    {
        out.extend(child.path.iter().map(|s| s.name.as_str()));
    }
    if let Some(el) = leaf_element(source, leaf) {
        out.extend(el.path.iter().map(|s| s.name.as_str()));
    }
    out
}

/// Every reference link of the reference parameters declared by the sources of
/// `resource_type`, in source then declaration order.
pub fn links_of<'a>(mapping: &'a Mapping, resource_type: &str) -> Vec<RefLink<'a>> {
    mapping
        .sources_of(resource_type)
        .flat_map(|from| links_from(mapping, from))
        .collect()
}

/// Every reference link of the reference parameters `from` declares, in declaration order.
pub fn links_from<'a>(mapping: &'a Mapping, from: &'a Source) -> Vec<RefLink<'a>> {
    let mut out = Vec::new();
    for d in from
        .search
        .iter()
        .filter(|d| d.param_type == super::SearchParamType::Reference)
    {
        for t in &d.targets {
            let SearchTarget::Reference(leaf) = t else {
                continue;
            };
            let Some(ElementMapping {
                value:
                    ElementValue::Sql {
                        convert: Convert::Reference { source, .. },
                        ..
                    },
                ..
            }) = leaf_element(from, *leaf)
            else {
                continue;
            };
            if let Some(target) = mapping.source_by_name(source) {
                out.push(RefLink {
                    from,
                    code: &d.code,
                    leaf: *leaf,
                    target,
                });
            }
        }
    }
    out
}

/// Every reference link, of every mapped type, that points into `resource_type`.
pub fn links_into<'a>(mapping: &'a Mapping, resource_type: &str) -> Vec<RefLink<'a>> {
    mapping
        .resource_types()
        .flat_map(|t| links_of(mapping, t))
        .filter(|l| l.target_type() == resource_type)
        .collect()
}
