//! Runtime access to the embedded FHIR R4 definitions (see the [module docs](super) for where
//! the data comes from).
//!
//! Everything is parsed once, on first use of [`Definitions::r4`]; lookups are then plain map
//! accesses. The main use is validating the mapping file at start-up: [`Definitions::resolve`]
//! checks an element path such as `name[0].given[1]` and explains what is wrong with it.

use serde::Deserialize;
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::fmt;
use std::sync::LazyLock;

const ELEMENTS_JSON: &str = include_str!("r4/elements.json");
const VALUE_SETS_JSON: &str = include_str!("r4/value-sets.json");
const SEARCH_PARAMETERS_JSON: &str = include_str!("r4/search-parameters.json");
const PATIENT_COMPARTMENT_JSON: &str = include_str!("r4/patient-compartment.json");

static R4: LazyLock<Definitions> = LazyLock::new(|| {
    Definitions::from_json(
        ELEMENTS_JSON,
        VALUE_SETS_JSON,
        SEARCH_PARAMETERS_JSON,
        PATIENT_COMPARTMENT_JSON,
    )
    .unwrap_or_else(|e| panic!("embedded FHIR R4 definitions are invalid: {e}"))
});

/// Most "did you mean" suggestions given in a [`PathError`].
const MAX_SUGGESTIONS: usize = 3;

// ---------------------------------------------------------------------------------------------
// Public data types

/// The strength of a terminology binding.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum BindingStrength {
    /// Only codes of the value set may be used.
    Required,
    /// Codes of the value set must be used when one applies.
    Extensible,
    /// Codes of the value set are encouraged.
    Preferred,
    /// The value set is only an example.
    Example,
}

impl fmt::Display for BindingStrength {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Required => "required",
            Self::Extensible => "extensible",
            Self::Preferred => "preferred",
            Self::Example => "example",
        })
    }
}

/// A terminology binding of a coded element.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Binding {
    /// How strictly the value set applies.
    pub strength: BindingStrength,
    /// Canonical URL of the value set, without `|version` suffix (absent for a few
    /// description-only bindings).
    pub value_set: Option<String>,
}

/// One allowed type of an element.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ElementType {
    /// FHIR type code: `string`, `date`, `HumanName`, `Reference`, `BackboneElement`, ...
    pub code: String,
    /// For `Reference` (and `canonical`): the allowed target resource types (or profile names);
    /// empty when any is allowed or for other types.
    pub targets: Vec<String>,
}

/// One element of a resource or complex data type, as defined in its snapshot.
#[derive(Debug, Clone)]
pub struct ElementDef {
    /// Path relative to the type root, as in the definition: `name`, `contact.name`,
    /// `value[x]`.
    pub path: String,
    /// Allowed types (several for a choice element `x[x]`). For an element defined by
    /// reference to another one (`content_ref`), the referenced element's types.
    pub types: Vec<ElementType>,
    /// Minimum cardinality.
    pub min: u32,
    /// Maximum cardinality: `"1"`, `"*"`, or (in constraints) `"0"`.
    pub max: String,
    /// Whether the definition marks it `isSummary` (part of `_summary=true`).
    pub is_summary: bool,
    /// Terminology binding, if any.
    pub binding: Option<Binding>,
    /// For elements whose definition is reused from another element (FHIR
    /// `contentReference`, e.g. `Questionnaire.item.item` → `item`): that element's
    /// relative path. Its children are then those of the referenced element.
    pub content_ref: Option<String>,
    /// Whether FHIR XML writes it as an attribute of its parent element rather than a child
    /// element (`Element.id` and `Extension.url`; the definition's `representation` is
    /// `xmlAttr`). `Resource.id` is an element.
    pub xml_attr: bool,
}

impl ElementDef {
    /// The last segment of [`path`](Self::path), e.g. `value[x]` or `given`.
    pub fn name(&self) -> &str {
        self.path.rsplit('.').next().unwrap_or(&self.path)
    }

    /// Whether this is a choice element (`value[x]`).
    pub fn is_choice(&self) -> bool {
        self.path.ends_with("[x]")
    }

    /// Whether the element can repeat (max is neither `"0"` nor `"1"`).
    pub fn repeats(&self) -> bool {
        self.max != "1" && self.max != "0"
    }
}

/// A code of a value set: the code system and the code.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Code {
    /// Code system URL, e.g. `http://hl7.org/fhir/administrative-gender`.
    pub system: String,
    /// The code, e.g. `female`.
    pub code: String,
}

/// A value set used by a required binding.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RequiredValueSet {
    /// All its codes (in definition order; nested concepts included, abstract ones too).
    Codes(Vec<Code>),
    /// Its codes cannot be computed from the FHIR definitions (e.g. all of UCUM or BCP-13).
    NotEnumerable {
        /// Why not.
        reason: String,
    },
}

/// The type of a search parameter.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SearchParamType {
    /// A number (integer or decimal).
    Number,
    /// A date / dateTime / period.
    Date,
    /// A string (prefix, case- and accent-insensitive by default).
    String,
    /// A code or identifier (`system|code`).
    Token,
    /// A reference to another resource.
    Reference,
    /// A combination of other parameters.
    Composite,
    /// A quantity (`[prefix]number|system|code`).
    Quantity,
    /// A URI.
    Uri,
    /// Special search (e.g. `near`).
    Special,
}

impl SearchParamType {
    /// Every type, in the specification's order.
    pub const ALL: [SearchParamType; 9] = [
        Self::Number,
        Self::Date,
        Self::String,
        Self::Token,
        Self::Reference,
        Self::Composite,
        Self::Quantity,
        Self::Uri,
        Self::Special,
    ];

    /// The type's code, as FHIR writes it (`token`).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Number => "number",
            Self::Date => "date",
            Self::String => "string",
            Self::Token => "token",
            Self::Reference => "reference",
            Self::Composite => "composite",
            Self::Quantity => "quantity",
            Self::Uri => "uri",
            Self::Special => "special",
        }
    }

    /// The type whose code is `code`.
    pub fn from_code(code: &str) -> Option<SearchParamType> {
        Self::ALL.into_iter().find(|t| t.as_str() == code)
    }
}

impl fmt::Display for SearchParamType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One component of a composite search parameter.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct SearchParamComponent {
    /// URL of the component's search parameter definition.
    pub definition: String,
    /// FHIRPath expression of the component, relative to the composite's expression.
    pub expression: String,
}

/// A standard FHIR R4 search parameter, as it applies to one resource type.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SearchParamDef {
    /// The name used in URLs, e.g. `birthdate`.
    pub code: String,
    /// The parameter type.
    pub param_type: SearchParamType,
    /// FHIRPath expression. For parameters shared by several resource types (`clinical-code`,
    /// `individual-birthdate`...) only the union parts for this resource type are kept, e.g.
    /// `Patient.birthDate`. `None` for `_text`, `_content` and `_query`.
    pub expression: Option<String>,
    /// Canonical URL of the SearchParameter definition.
    pub url: String,
    /// `Some("Resource")` / `Some("DomainResource")` for the common parameters (`_id`,
    /// `_lastUpdated`, `_text`...) that apply to every (domain) resource type; `None` otherwise.
    pub common_base: Option<String>,
    /// For reference parameters: the resource types it can point to.
    pub targets: Vec<String>,
    /// Allowed modifiers, when the definition lists them (no R4 standard parameter does).
    pub modifiers: Vec<String>,
    /// Allowed comparators (`eq`, `gt`, ...), when the definition lists them.
    pub comparators: Vec<String>,
    /// `multipleOr` of the definition, if present.
    pub multiple_or: Option<bool>,
    /// `multipleAnd` of the definition, if present.
    pub multiple_and: Option<bool>,
    /// Components of a composite parameter.
    pub components: Vec<SearchParamComponent>,
}

/// A resolved element path: one [`ResolvedSegment`] per path segment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResolvedPath {
    /// The resource (or data) type the path starts from.
    pub root_type: String,
    /// The segments, in order.
    pub segments: Vec<ResolvedSegment>,
}

impl ResolvedPath {
    /// The last segment (the element the path designates).
    pub fn leaf(&self) -> &ResolvedSegment {
        self.segments
            .last()
            .expect("a resolved path has at least one segment")
    }
}

/// One segment of a [`ResolvedPath`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResolvedSegment {
    /// The JSON property name, e.g. `valueQuantity` or `given`.
    pub name: String,
    /// The defining element's full path, e.g. `Observation.value[x]`, `HumanName.given`,
    /// `Patient.contact.name`.
    pub element_path: String,
    /// The element's FHIR type code: the chosen type for a choice element (`Quantity` for
    /// `valueQuantity`), `BackboneElement` (or `Element`) for inline structures, the primitive
    /// type (`date`, `string`...) for primitives.
    pub type_code: String,
    /// Whether this element is a choice element (`value[x]`).
    pub is_choice: bool,
    /// Whether the element can repeat (its max is not 1), i.e. is a JSON array.
    pub repeats: bool,
    /// Minimum cardinality.
    pub min: u32,
    /// Maximum cardinality (`"1"`, `"*"`).
    pub max: String,
    /// The `[n]` index given in the path, if any.
    pub index: Option<usize>,
    /// The element's terminology binding, if any.
    pub binding: Option<Binding>,
    /// For a `Reference` (or `canonical`): the allowed target resource types (empty = any).
    pub target_types: Vec<String>,
    /// Whether `type_code` is a primitive type (`string`, `date`, `code`...).
    pub is_primitive: bool,
}

/// Where child elements are looked up: a resource or data type and an element path in it (its
/// root, or an inline structure such as `Observation.component`). Walk a resource's JSON with
/// [`Definitions::scope`] and [`Definitions::child`].
#[derive(Debug, Clone, Copy)]
pub struct Scope<'a> {
    structure: &'a Structure,
    /// Relative element path whose children are looked up (`""`: the root).
    base: &'a str,
}

impl Scope<'_> {
    /// Where this is, for messages: `Patient`, `Patient.contact`, `HumanName`.
    pub fn path(&self) -> String {
        if self.base.is_empty() {
            self.structure.name.clone()
        } else {
            format!("{}.{}", self.structure.name, self.base)
        }
    }
}

/// A child element found by its JSON property name (see [`Definitions::child`]).
#[derive(Debug, Clone, Copy)]
pub struct Child<'a> {
    /// Its definition (for `valueQuantity`: `value[x]`).
    pub element: &'a ElementDef,
    /// Its type: the chosen one of a choice element, `BackboneElement` for inline structures.
    pub type_code: &'a str,
    /// Where its own children are defined; `None` for a primitive.
    pub scope: Option<Scope<'a>>,
    /// Its position among the elements of its type, in definition order: sorting the
    /// children of one scope by it gives the order FHIR XML requires (inherited elements
    /// such as `id`, `meta`, `text`, `extension` first).
    pub order: usize,
}

/// Why an element path could not be resolved. The messages are meant for start-up errors.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PathError {
    /// The root type is neither a resource type nor a complex data type.
    #[error("unknown FHIR resource type `{name}`{}", did_you_mean(.suggestions))]
    UnknownType {
        /// The type name given.
        name: String,
        /// Close type names.
        suggestions: Vec<String>,
    },
    /// The path is not a sequence of `name` / `name[n]` segments separated by dots.
    #[error("invalid element path `{path}`: {reason}")]
    Syntax {
        /// The whole path.
        path: String,
        /// What is wrong.
        reason: String,
    },
    /// A segment names no element of the type it is in.
    #[error("element path `{path}`: {in_type} has no element `{segment}`{}", did_you_mean(.suggestions))]
    UnknownElement {
        /// The whole path.
        path: String,
        /// The unknown segment (without index).
        segment: String,
        /// Where it was looked up: `Patient`, `HumanName`, `Patient.contact`...
        in_type: String,
        /// Up to 3 close element names.
        suggestions: Vec<String>,
    },
    /// A choice element was named without its type suffix (`value` instead of
    /// `valueQuantity`).
    #[error(
        "element path `{path}`: `{segment}` in {in_type} is a choice element ({segment}[x]); \
         write one of: {}", .allowed.join(", ")
    )]
    BareChoice {
        /// The whole path.
        path: String,
        /// The segment as written (`value` or `value[x]` → `value`).
        segment: String,
        /// Where it was looked up.
        in_type: String,
        /// The concrete names, e.g. `valueQuantity`, `valueString`...
        allowed: Vec<String>,
    },
    /// An index was given on an element that does not repeat.
    #[error(
        "element path `{path}`: `{segment}[{index}]`: {in_type}.{segment} is a single element \
         (max {max}) and cannot be indexed; remove `[{index}]`"
    )]
    NotRepeating {
        /// The whole path.
        path: String,
        /// The segment name.
        segment: String,
        /// The index given.
        index: usize,
        /// Where the element was looked up.
        in_type: String,
        /// Its max cardinality.
        max: String,
    },
    /// The path goes on below an element of a primitive type.
    #[error(
        "element path `{path}`: `{segment}` is a primitive ({type_code}) and has no child \
         element `{child}`"
    )]
    IntoPrimitive {
        /// The whole path.
        path: String,
        /// The primitive segment.
        segment: String,
        /// Its type code.
        type_code: String,
        /// The segment after it.
        child: String,
    },
}

fn did_you_mean(suggestions: &[String]) -> String {
    match suggestions {
        [] => String::new(),
        [one] => format!("; did you mean `{one}`?"),
        many => {
            let quoted: Vec<String> = many.iter().map(|s| format!("`{s}`")).collect();
            format!("; did you mean one of {}?", quoted.join(", "))
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Internal structures

#[derive(Debug)]
struct Structure {
    /// Name of the type or resource (`Patient`, `HumanName`, `SimpleQuantity`).
    name: String,
    /// Name of the base definition (`DomainResource`, `Element`, `Quantity`...).
    base: Option<String>,
    is_abstract: bool,
    elements: Vec<ElementDef>,
    /// Relative path → index in `elements`.
    by_path: HashMap<String, usize>,
    /// Relative parent path (`""` for the root) → indexes of its direct children.
    children: HashMap<String, Vec<usize>>,
}

impl Structure {
    fn element(&self, rel_path: &str) -> Option<&ElementDef> {
        self.by_path.get(rel_path).map(|&i| &self.elements[i])
    }

    fn children_of(&self, rel_path: &str) -> impl Iterator<Item = &ElementDef> {
        self.children
            .get(rel_path)
            .map(Vec::as_slice)
            .unwrap_or_default()
            .iter()
            .map(|&i| &self.elements[i])
    }

    fn has_children(&self, rel_path: &str) -> bool {
        self.children.contains_key(rel_path)
    }
}

#[derive(Deserialize)]
struct RawElements {
    primitives: BTreeSet<String>,
    types: BTreeMap<String, RawStructure>,
    resources: BTreeMap<String, RawStructure>,
}

#[derive(Deserialize)]
struct RawStructure {
    base: Option<String>,
    #[serde(default, rename = "abstract")]
    is_abstract: bool,
    elements: Vec<RawElement>,
}

#[derive(Deserialize)]
struct RawElement {
    path: String,
    #[serde(default)]
    types: Vec<String>,
    #[serde(default)]
    min: u32,
    max: String,
    #[serde(default)]
    summary: bool,
    binding: Option<Binding>,
    #[serde(rename = "ref")]
    content_ref: Option<String>,
    #[serde(default, rename = "xmlAttr")]
    xml_attr: bool,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawValueSet {
    systems: Option<Vec<RawSystemCodes>>,
    not_enumerable: Option<String>,
}

#[derive(Deserialize)]
struct RawSystemCodes {
    system: String,
    codes: Vec<String>,
}

#[derive(Deserialize)]
struct RawSearchParameters {
    common: Vec<RawSearchParam>,
    resources: BTreeMap<String, Vec<RawSearchParam>>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawSearchParam {
    code: String,
    #[serde(rename = "type")]
    param_type: SearchParamType,
    expression: Option<String>,
    url: String,
    base: Option<String>,
    #[serde(default)]
    targets: Vec<String>,
    targets_all_except: Option<Vec<String>>,
    #[serde(default)]
    modifiers: Vec<String>,
    #[serde(default)]
    comparators: Vec<String>,
    multiple_or: Option<bool>,
    multiple_and: Option<bool>,
    #[serde(default)]
    components: Vec<SearchParamComponent>,
}

fn parse_type(s: &str) -> ElementType {
    match s.split_once('(') {
        Some((code, rest)) => ElementType {
            code: code.to_owned(),
            targets: rest
                .trim_end_matches(')')
                .split('|')
                .map(str::to_owned)
                .collect(),
        },
        None => ElementType {
            code: s.to_owned(),
            targets: Vec::new(),
        },
    }
}

fn build_structure(name: &str, raw: RawStructure) -> Structure {
    let mut elements: Vec<ElementDef> = raw
        .elements
        .into_iter()
        .map(|e| ElementDef {
            path: e.path,
            types: e.types.iter().map(|t| parse_type(t)).collect(),
            min: e.min,
            max: e.max,
            is_summary: e.summary,
            binding: e.binding,
            content_ref: e.content_ref,
            xml_attr: e.xml_attr,
        })
        .collect();
    let by_path: HashMap<String, usize> = elements
        .iter()
        .enumerate()
        .map(|(i, e)| (e.path.clone(), i))
        .collect();
    // Elements defined by reference take the referenced element's types.
    for i in 0..elements.len() {
        if let Some(target) = elements[i].content_ref.as_deref()
            && let Some(&j) = by_path.get(target)
        {
            elements[i].types = elements[j].types.clone();
        }
    }
    let mut children: HashMap<String, Vec<usize>> = HashMap::new();
    for (i, e) in elements.iter().enumerate() {
        let parent = e.path.rsplit_once('.').map_or("", |(p, _)| p);
        children.entry(parent.to_owned()).or_default().push(i);
    }
    Structure {
        name: name.to_owned(),
        base: raw.base,
        is_abstract: raw.is_abstract,
        elements,
        by_path,
        children,
    }
}

/// Whether `suffix` is `code` with its first letter upper-cased (`Quantity`, `String` for
/// `string`): the type part of a choice element's name. No allocation: it runs for every
/// element of every resource written as XML.
fn is_type_suffix(suffix: &str, code: &str) -> bool {
    let (mut a, mut b) = (suffix.chars(), code.chars());
    match (a.next(), b.next()) {
        (Some(x), Some(y)) => y.to_uppercase().eq([x]) && a.as_str() == b.as_str(),
        _ => false,
    }
}

fn upper_first(s: &str) -> String {
    let mut chars = s.chars();
    match chars.next() {
        Some(c) => c.to_uppercase().chain(chars).collect(),
        None => String::new(),
    }
}

// ---------------------------------------------------------------------------------------------
// Definitions

/// The FHIR R4 definitions: element trees of resources and data types, required value sets,
/// search parameters and the Patient compartment.
#[derive(Debug)]
pub struct Definitions {
    primitives: BTreeSet<String>,
    types: BTreeMap<String, Structure>,
    resources: BTreeMap<String, Structure>,
    value_sets: BTreeMap<String, RequiredValueSet>,
    search_params: BTreeMap<String, Vec<SearchParamDef>>,
    common_search_params: Vec<SearchParamDef>,
    patient_compartment: BTreeMap<String, Vec<String>>,
}

impl Definitions {
    /// The FHIR R4 (4.0.1) definitions embedded in the binary, parsed on first use.
    pub fn r4() -> &'static Definitions {
        &R4
    }

    /// Parses definitions from the four generated JSON documents (see `tools/gen-fhir-defs`).
    pub fn from_json(
        elements: &str,
        value_sets: &str,
        search_parameters: &str,
        patient_compartment: &str,
    ) -> Result<Definitions, serde_json::Error> {
        let raw: RawElements = serde_json::from_str(elements)?;
        let types = raw
            .types
            .into_iter()
            .map(|(k, v)| {
                let s = build_structure(&k, v);
                (k, s)
            })
            .collect();
        let resources: BTreeMap<String, Structure> = raw
            .resources
            .into_iter()
            .map(|(k, v)| {
                let s = build_structure(&k, v);
                (k, s)
            })
            .collect();

        let raw_vs: BTreeMap<String, RawValueSet> = serde_json::from_str(value_sets)?;
        let value_sets = raw_vs
            .into_iter()
            .map(|(url, vs)| {
                let entry = match (vs.systems, vs.not_enumerable) {
                    (Some(systems), _) => RequiredValueSet::Codes(
                        systems
                            .into_iter()
                            .flat_map(|s| {
                                let system = s.system;
                                s.codes.into_iter().map(move |code| Code {
                                    system: system.clone(),
                                    code,
                                })
                            })
                            .collect(),
                    ),
                    (None, reason) => RequiredValueSet::NotEnumerable {
                        reason: reason.unwrap_or_default(),
                    },
                };
                (url, entry)
            })
            .collect();

        let concrete: Vec<&str> = resources
            .values()
            .filter(|r| !r.is_abstract)
            .map(|r| r.name.as_str())
            .collect();
        let convert = |p: RawSearchParam| SearchParamDef {
            targets: match p.targets_all_except {
                Some(except) => concrete
                    .iter()
                    .filter(|c| !except.iter().any(|e| e == *c))
                    .map(|c| (*c).to_owned())
                    .collect(),
                None => p.targets,
            },
            code: p.code,
            param_type: p.param_type,
            expression: p.expression,
            url: p.url,
            common_base: p.base,
            modifiers: p.modifiers,
            comparators: p.comparators,
            multiple_or: p.multiple_or,
            multiple_and: p.multiple_and,
            components: p.components,
        };
        let raw_sp: RawSearchParameters = serde_json::from_str(search_parameters)?;
        let common_search_params = raw_sp.common.into_iter().map(convert).collect();
        let search_params = raw_sp
            .resources
            .into_iter()
            .map(|(k, v)| (k, v.into_iter().map(convert).collect()))
            .collect();

        Ok(Definitions {
            primitives: raw.primitives,
            types,
            resources,
            value_sets,
            search_params,
            common_search_params,
            patient_compartment: serde_json::from_str(patient_compartment)?,
        })
    }

    /// Whether `name` is a concrete (non-abstract) resource type, e.g. `Patient`.
    pub fn is_resource_type(&self, name: &str) -> bool {
        self.resources.get(name).is_some_and(|r| !r.is_abstract)
    }

    /// All concrete resource types, sorted.
    pub fn resource_types(&self) -> impl Iterator<Item = &str> {
        self.resources
            .values()
            .filter(|r| !r.is_abstract)
            .map(|r| r.name.as_str())
    }

    /// Whether `name` is a primitive type code (`string`, `date`, `code`, ...).
    pub fn is_primitive_type(&self, name: &str) -> bool {
        self.primitives.contains(name)
    }

    /// The primitive type codes, sorted.
    pub fn primitive_types(&self) -> impl Iterator<Item = &str> {
        self.primitives.iter().map(String::as_str)
    }

    /// Whether `name` is a complex data type (`HumanName`, `Quantity`, `Age`,
    /// `SimpleQuantity`, `BackboneElement`...).
    pub fn is_complex_type(&self, name: &str) -> bool {
        self.types.contains_key(name)
    }

    /// The complex data types, sorted (including the abstract `Element` and
    /// `BackboneElement` and the Quantity profiles `SimpleQuantity` and `MoneyQuantity`).
    pub fn complex_types(&self) -> impl Iterator<Item = &str> {
        self.types.keys().map(String::as_str)
    }

    /// The snapshot elements of a resource type (including the abstract `Resource` and
    /// `DomainResource`) or complex data type, in definition order; `None` if unknown.
    pub fn elements(&self, type_name: &str) -> Option<&[ElementDef]> {
        self.structure(type_name).map(|s| s.elements.as_slice())
    }

    fn structure(&self, name: &str) -> Option<&Structure> {
        self.resources.get(name).or_else(|| self.types.get(name))
    }

    /// Resolves an element path of a resource (or complex data type), e.g. `name[0].given[1]`,
    /// `valueQuantity.value`, `code.coding[0].system`, `component[1].valueQuantity.unit`,
    /// `contact.name.family`, `deceasedBoolean`, `meta.lastUpdated`.
    ///
    /// Segments are JSON element names with an optional `[n]` index (only on repeating
    /// elements). A choice element `value[x]` is written with its type: `valueQuantity`.
    /// Paths descend into complex data types (`name.given` continues in `HumanName`) and
    /// into `contained` resources (as the abstract `Resource`), but not into primitives (so
    /// the `id`/`extension` of a primitive, `birthDate.extension`, are rejected).
    pub fn resolve(&self, resource_type: &str, path: &str) -> Result<ResolvedPath, PathError> {
        let root = self
            .structure(resource_type)
            .ok_or_else(|| PathError::UnknownType {
                name: resource_type.to_owned(),
                suggestions: suggest(
                    resource_type,
                    self.resources
                        .values()
                        .filter(|r| !r.is_abstract)
                        .map(|r| r.name.clone()),
                ),
            })?;
        let syntax = |reason: String| PathError::Syntax {
            path: path.to_owned(),
            reason,
        };
        if path.is_empty() {
            return Err(syntax("the path is empty".to_owned()));
        }
        let mut raw_segments = Vec::new();
        for seg in path.split('.') {
            raw_segments.push(parse_segment(seg).map_err(&syntax)?);
        }

        let mut structure = root;
        let mut base_path = String::new();
        let mut segments = Vec::with_capacity(raw_segments.len());
        for (i, seg) in raw_segments.iter().enumerate() {
            let in_type = if base_path.is_empty() {
                structure.name.clone()
            } else {
                format!("{}.{}", structure.name, base_path)
            };
            let child_path = |name: &str| {
                if base_path.is_empty() {
                    name.to_owned()
                } else {
                    format!("{base_path}.{name}")
                }
            };

            // `[x]` written by the user: always a bare choice (or unknown).
            let (element, chosen) = if let Some(e) = (!seg.choice_marker)
                .then(|| structure.element(&child_path(seg.name)))
                .flatten()
                .filter(|e| !e.is_choice())
            {
                (e, None)
            } else if let Some((e, t)) = structure
                .children_of(&base_path)
                .filter(|e| e.is_choice())
                .find_map(|e| {
                    let stem = e.name().trim_end_matches("[x]");
                    let rest = seg.name.strip_prefix(stem)?;
                    e.types
                        .iter()
                        .find(|t| !seg.choice_marker && upper_first(&t.code) == rest)
                        .map(|t| (e, t))
                })
            {
                (e, Some(t))
            } else if let Some(e) = structure
                .element(&child_path(&format!("{}[x]", seg.name)))
                .filter(|e| e.is_choice())
            {
                return Err(PathError::BareChoice {
                    path: path.to_owned(),
                    segment: seg.name.to_owned(),
                    in_type,
                    allowed: e
                        .types
                        .iter()
                        .map(|t| format!("{}{}", seg.name, upper_first(&t.code)))
                        .collect(),
                });
            } else if let Some(e) = structure
                .children_of(&base_path)
                .find(|e| e.is_choice() && seg.name.starts_with(e.name().trim_end_matches("[x]")))
            {
                // `deceasedString`: a choice element, but not one of its types.
                let stem = e.name().trim_end_matches("[x]");
                return Err(PathError::UnknownElement {
                    path: path.to_owned(),
                    segment: seg.name.to_owned(),
                    in_type,
                    suggestions: suggest_all(
                        seg.name,
                        e.types
                            .iter()
                            .map(|t| format!("{stem}{}", upper_first(&t.code))),
                    ),
                });
            } else {
                let candidates = structure.children_of(&base_path).flat_map(|e| {
                    let name = e.name();
                    if e.is_choice() {
                        let stem = name.trim_end_matches("[x]").to_owned();
                        e.types
                            .iter()
                            .map(|t| format!("{stem}{}", upper_first(&t.code)))
                            .collect::<Vec<_>>()
                    } else {
                        vec![name.to_owned()]
                    }
                });
                return Err(PathError::UnknownElement {
                    path: path.to_owned(),
                    segment: seg.name.to_owned(),
                    in_type,
                    suggestions: suggest(seg.name, candidates),
                });
            };

            if let Some(index) = seg.index
                && !element.repeats()
            {
                return Err(PathError::NotRepeating {
                    path: path.to_owned(),
                    segment: seg.name.to_owned(),
                    index,
                    in_type,
                    max: element.max.clone(),
                });
            }

            let ty = chosen.or(element.types.first());
            let type_code = ty.map_or_else(|| "BackboneElement".to_owned(), |t| t.code.clone());
            let is_primitive = self.primitives.contains(&type_code);
            segments.push(ResolvedSegment {
                name: seg.name.to_owned(),
                element_path: format!("{}.{}", structure.name, element.path),
                type_code: type_code.clone(),
                is_choice: element.is_choice(),
                repeats: element.repeats(),
                min: element.min,
                max: element.max.clone(),
                index: seg.index,
                binding: element.binding.clone(),
                target_types: ty.map(|t| t.targets.clone()).unwrap_or_default(),
                is_primitive,
            });

            // Where the next segment is looked up.
            let Some(next) = raw_segments.get(i + 1) else {
                break;
            };
            if let Some(target) = &element.content_ref {
                base_path = target.clone();
            } else if structure.has_children(&element.path) {
                base_path = element.path.clone();
            } else if let Some(s) = self.structure(&type_code).filter(|_| !is_primitive) {
                structure = s;
                base_path.clear();
            } else {
                return Err(PathError::IntoPrimitive {
                    path: path.to_owned(),
                    segment: seg.name.to_owned(),
                    type_code,
                    child: next.name.to_owned(),
                });
            }
        }
        Ok(ResolvedPath {
            root_type: resource_type.to_owned(),
            segments,
        })
    }

    /// The root scope of a resource or data type, e.g. `Patient` or `HumanName`.
    pub fn scope(&self, type_name: &str) -> Option<Scope<'_>> {
        self.structure(type_name).map(|structure| Scope {
            structure,
            base: "",
        })
    }

    /// The child of `scope` whose JSON property name is `name` (`gender`, `valueQuantity`,
    /// `component`); `None` when there is none. Primitive extensions (`_birthDate`) are not
    /// elements: strip the `_` first.
    pub fn child<'a>(&'a self, scope: Scope<'a>, name: &str) -> Option<Child<'a>> {
        let s = scope.structure;
        let children = s.children.get(scope.base).map(Vec::as_slice);
        let children = || {
            children
                .unwrap_or_default()
                .iter()
                .map(|&i| (i, &s.elements[i]))
        };
        let (order, element, ty) = children()
            .find(|(_, e)| !e.is_choice() && e.name() == name)
            .map(|(i, e)| (i, e, e.types.first()))
            .or_else(|| {
                children()
                    .filter(|(_, e)| e.is_choice())
                    .find_map(|(i, e)| {
                        let rest = name.strip_prefix(e.name().trim_end_matches("[x]"))?;
                        let t = e.types.iter().find(|t| is_type_suffix(rest, &t.code))?;
                        Some((i, e, Some(t)))
                    })
            })?;
        let type_code = ty.map_or("BackboneElement", |t| t.code.as_str());
        let inner = |base: &'a str| Scope { structure: s, base };
        let scope = if let Some(target) = &element.content_ref {
            Some(inner(target))
        } else if s.has_children(&element.path) {
            Some(inner(&element.path))
        } else if self.primitives.contains(type_code) {
            None
        } else {
            self.scope(type_code)
        };
        Some(Child {
            element,
            type_code,
            scope,
            order,
        })
    }

    /// The search parameter `code` of `resource_type`, including the common ones (`_id`,
    /// `_lastUpdated`, `_tag`, ... for every resource type; `_text` for domain resources).
    pub fn search_param(&self, resource_type: &str, code: &str) -> Option<&SearchParamDef> {
        self.search_params(resource_type).find(|p| p.code == code)
    }

    /// All search parameters of `resource_type`: its own (sorted by code), then the common
    /// ones. Empty for an unknown type.
    pub fn search_params(&self, resource_type: &str) -> impl Iterator<Item = &SearchParamDef> {
        let known = self.is_resource_type(resource_type);
        let domain = known && self.is_domain_resource(resource_type);
        let own = self
            .search_params
            .get(resource_type)
            .map(Vec::as_slice)
            .unwrap_or_default();
        let common = self.common_search_params.iter().filter(move |p| {
            known
                && match p.common_base.as_deref() {
                    Some("DomainResource") => domain,
                    _ => true,
                }
        });
        own.iter().chain(common)
    }

    fn is_domain_resource(&self, name: &str) -> bool {
        let mut current = self.resources.get(name);
        while let Some(s) = current {
            if s.name == "DomainResource" {
                return true;
            }
            current = s.base.as_deref().and_then(|b| self.resources.get(b));
        }
        false
    }

    /// The value set of a required binding (URL with or without `|version`), if it is one.
    pub fn required_value_set(&self, value_set_url: &str) -> Option<&RequiredValueSet> {
        let url = value_set_url.split('|').next().unwrap_or(value_set_url);
        self.value_sets.get(url)
    }

    /// The codes of a value set used in a required binding; `None` if the value set is not
    /// used by a required binding or its codes can't be listed (see [`RequiredValueSet`]).
    pub fn value_set_codes(&self, value_set_url: &str) -> Option<&[Code]> {
        match self.required_value_set(value_set_url)? {
            RequiredValueSet::Codes(codes) => Some(codes),
            RequiredValueSet::NotEnumerable { .. } => None,
        }
    }

    /// The search parameters linking `resource_type` to the Patient compartment (e.g.
    /// `["subject", "performer"]` for Observation); `None` if it is not in the compartment.
    pub fn patient_compartment_params(&self, resource_type: &str) -> Option<&[String]> {
        self.patient_compartment
            .get(resource_type)
            .map(Vec::as_slice)
    }
}

struct RawSegment<'a> {
    name: &'a str,
    index: Option<usize>,
    /// The segment was written `name[x]`.
    choice_marker: bool,
}

fn parse_segment(seg: &str) -> Result<RawSegment<'_>, String> {
    let (name, index, choice_marker) = match seg.split_once('[') {
        None => (seg, None, false),
        Some((name, rest)) => {
            let inner = rest
                .strip_suffix(']')
                .ok_or_else(|| format!("segment `{seg}`: `[` without closing `]` at the end"))?;
            if inner == "x" {
                (name, None, true)
            } else {
                let index = inner
                    .parse::<usize>()
                    .ok()
                    .filter(|_| inner.bytes().all(|b| b.is_ascii_digit()))
                    .ok_or_else(|| {
                        format!("segment `{seg}`: the index must be a number, like `name[0]`")
                    })?;
                (name, Some(index), false)
            }
        }
    };
    if name.is_empty() {
        return Err(if seg.is_empty() {
            "empty segment (two dots in a row, or a leading/trailing dot)".to_owned()
        } else {
            format!("segment `{seg}` has no element name")
        });
    }
    if !name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_') {
        return Err(format!(
            "segment `{seg}`: element names contain only letters, digits and `_`"
        ));
    }
    Ok(RawSegment {
        name,
        index,
        choice_marker,
    })
}

/// Up to [`MAX_SUGGESTIONS`] candidates close to `wanted`: same name ignoring case first,
/// then by edit distance (case-insensitive), then names that start with `wanted`.
fn suggest(wanted: &str, candidates: impl Iterator<Item = String>) -> Vec<String> {
    let lower = wanted.to_lowercase();
    let max_distance = (lower.chars().count() / 3).clamp(1, 3);
    let mut scored: Vec<(usize, String)> = candidates
        .filter_map(|c| {
            let cl = c.to_lowercase();
            let d = edit_distance(&lower, &cl);
            if d <= max_distance {
                Some((d, c))
            } else if lower.len() >= 3 && (cl.starts_with(&lower) || lower.starts_with(&cl)) {
                Some((max_distance + 1, c))
            } else {
                None
            }
        })
        .collect();
    scored.sort();
    scored.dedup_by(|a, b| a.1 == b.1);
    scored
        .into_iter()
        .take(MAX_SUGGESTIONS)
        .map(|(_, c)| c)
        .collect()
}

/// The [`MAX_SUGGESTIONS`] candidates closest to `wanted`, however far.
fn suggest_all(wanted: &str, candidates: impl Iterator<Item = String>) -> Vec<String> {
    let lower = wanted.to_lowercase();
    let mut scored: Vec<(usize, String)> = candidates
        .map(|c| (edit_distance(&lower, &c.to_lowercase()), c))
        .collect();
    scored.sort();
    scored
        .into_iter()
        .take(MAX_SUGGESTIONS)
        .map(|(_, c)| c)
        .collect()
}

/// Edit distance counting insertions, deletions, substitutions and transpositions of
/// adjacent characters (optimal string alignment), so `nmae` is 1 away from `name`.
fn edit_distance(a: &str, b: &str) -> usize {
    let a: Vec<char> = a.chars().collect();
    let b: Vec<char> = b.chars().collect();
    let mut d = vec![vec![0usize; b.len() + 1]; a.len() + 1];
    for (i, row) in d.iter_mut().enumerate() {
        row[0] = i;
    }
    for (j, cell) in d[0].iter_mut().enumerate() {
        *cell = j;
    }
    for i in 1..=a.len() {
        for j in 1..=b.len() {
            let cost = usize::from(a[i - 1] != b[j - 1]);
            let mut v = (d[i - 1][j - 1] + cost)
                .min(d[i - 1][j] + 1)
                .min(d[i][j - 1] + 1);
            if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                v = v.min(d[i - 2][j - 2] + 1);
            }
            d[i][j] = v;
        }
    }
    d[a.len()][b.len()]
}
