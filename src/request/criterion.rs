//! One search criterion, typed: a parameter (possibly reached through chains or `_has`), and
//! what its values ask, each value already parsed for the parameter's type. Built by the
//! request parser from the query string, or by the server itself through the constructors
//! below (compartments, `_include`, `$everything`'s `_since`).

use super::chain::Hop;
use crate::fhir::SearchParamType;
use crate::search::SearchValue;
use crate::search::date::DateSearch;
use crate::search::reference::ReferenceSearch;

/// A search criterion.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Criterion {
    /// The resources crossed before `code` is compared (chains, `_has`); empty for a
    /// parameter of the searched type itself.
    pub hops: Vec<Hop>,
    /// Parameter code (of the type the hops lead to).
    pub code: String,
    /// Its type.
    pub param_type: SearchParamType,
    /// What it asks.
    pub test: Test,
    /// `name[:modifier]=value` as it appears in links (normalized; empty for the server's own
    /// criteria).
    pub link: String,
    /// Other criteria, any of which also satisfies this one (a compartment's several
    /// parameters); empty for a parameter of the request.
    pub alternatives: Vec<Criterion>,
}

/// What a criterion asks of a resource.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Test {
    /// `:missing`: resources without a value match when `missing`, resources with one when
    /// `present` (`:missing=true,false` asks for both).
    Missing {
        /// `true` was asked.
        missing: bool,
        /// `false` was asked.
        present: bool,
    },
    /// A value matching any of `values`; with `negate` (`:not`), no value matching any of them
    /// (resources without a value included).
    AnyOf {
        /// The values, OR-ed.
        values: Vec<SearchValue>,
        /// `:not`.
        negate: bool,
    },
}

impl Criterion {
    /// A criterion the server makes itself (no link), on the searched type.
    fn own(code: &str, param_type: SearchParamType, values: Vec<SearchValue>) -> Criterion {
        Criterion {
            hops: Vec::new(),
            code: code.to_string(),
            param_type,
            test: Test::AnyOf {
                values,
                negate: false,
            },
            link: String::new(),
            alternatives: Vec::new(),
        }
    }

    /// `_id` is any of `ids`.
    pub fn ids<I: Into<String>>(ids: impl IntoIterator<Item = I>) -> Criterion {
        let values = ids.into_iter().map(|i| SearchValue::Id(i.into())).collect();
        Criterion::own("_id", SearchParamType::Token, values)
    }

    /// Reference parameter `code` refers to any of `targets` (`(type, id)`).
    pub fn references<'a>(
        code: &str,
        targets: impl IntoIterator<Item = (&'a str, &'a str)>,
    ) -> Criterion {
        let values = targets
            .into_iter()
            .map(|(t, id)| SearchValue::Reference(ReferenceSearch::to(t, id)))
            .collect();
        Criterion::own(code, SearchParamType::Reference, values)
    }

    /// `_lastUpdated` matches `date` (e.g. `ge` an instant).
    pub fn last_updated(date: DateSearch) -> Criterion {
        Criterion::own(
            "_lastUpdated",
            SearchParamType::Date,
            vec![SearchValue::Date(date)],
        )
    }

    /// Any of `criteria` holds (`None` when there is none).
    pub fn any(criteria: Vec<Criterion>) -> Option<Criterion> {
        let mut all = criteria.into_iter();
        let mut first = all.next()?;
        first.alternatives.extend(all);
        Some(first)
    }

    /// Whether this is `:missing`.
    pub fn is_missing(&self) -> bool {
        matches!(self.test, Test::Missing { .. })
    }
}
