//! One source row (plus its child rows) → one FHIR resource.

use std::borrow::Cow;

use chrono_tz::Tz;
use serde::ser::{Serialize, SerializeMap, Serializer};
use serde_json::{Map, Value as Json};

use super::body::{Body, Part};
use super::compact;
use super::convert::{self, convert_with_text, id_text, is_valid_id};
use super::shaped::Filled;
use super::tree::{Origin, Tree};
use crate::mapping::shape::Shape;
use crate::mapping::{Child, ElementValue, PathSegment, Primitive, Source};
use crate::mapping::{ChildLayout, SourceLayout};
use crate::sql::{Row, Value};

/// The rows of one child table that belong to one parent row.
pub struct ChildRows<'m, 'r> {
    /// The child mapping.
    pub child: &'m Child,
    /// Its select layout.
    pub layout: &'r ChildLayout,
    /// Its rows for this parent, in order.
    pub rows: Vec<&'r Row>,
}

/// The logical id of a source row, or `None` when its key is NULL or not a valid FHIR id.
pub fn row_id(source: &Source, layout: &SourceLayout, row: &Row) -> Option<String> {
    let key = id_text(row.get(layout.id)?)?;
    let id = match source.id.prefix.as_str() {
        "" => key,
        prefix => format!("{prefix}{key}"),
    };
    is_valid_id(&id).then_some(id)
}

/// The row's last-modified time as a FHIR instant.
pub fn last_updated(source: &Source, layout: &SourceLayout, row: &Row, tz: Tz) -> Option<String> {
    let pos = layout.last_updated?;
    let v = row.get(pos)?;
    if layout.columns[pos].is_none_value(v) {
        return None;
    }
    let v = match v {
        // A date-only column: the start of that day in the mapping's time zone.
        Value::Date(d) => Value::Timestamp(d.and_time(chrono::NaiveTime::MIN)),
        other => other.clone(),
    };
    match convert::primitive(&v, Primitive::Instant, None, tz) {
        Ok(Some(Json::String(s))) => Some(s),
        Ok(_) => None,
        Err(e) => {
            tracing::warn!(source = %source.name, error = %e.target, "unreadable last_updated value");
            None
        }
    }
}

/// The row's version as a FHIR id (`meta.versionId`, the ETag). A value that is not a valid
/// id (e.g. a timestamp used as version) is replaced by a stable hash of it.
pub fn version(layout: &SourceLayout, row: &Row) -> Option<String> {
    let pos = layout.version?;
    let v = row.get(pos)?;
    if layout.columns[pos].is_none_value(v) {
        return None;
    }
    let text = id_text(v)?;
    if is_valid_id(&text) {
        return Some(text);
    }
    // FNV-1a: stable across runs and instances (unlike std's randomly keyed hasher).
    let hash = text.bytes().fold(0xcbf2_9ce4_8422_2325_u64, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    });
    Some(format!("{hash:016x}"))
}

/// A resource assembled from its rows. It serializes ([`Serialize`]) straight to the JSON of
/// the resource, without building a `serde_json` value; [`Built::into_map`] builds the same
/// resource as a `serde_json` object where a tree is needed (XML, subsetting).
#[derive(Debug)]
pub struct Built<'a> {
    resource_type: &'a str,
    id: String,
    version: Option<String>,
    last_updated: Option<String>,
    /// The mapped elements, marked.
    body: Body<'a>,
}

/// Builds the resource for `row`. `None` when the row has no usable id.
pub fn build<'a>(
    source: &'a Source,
    layout: &SourceLayout,
    row: &Row,
    children: &[ChildRows<'a, '_>],
    tz: Tz,
) -> Option<Built<'a>> {
    let id = row_id(source, layout, row)?;
    let body = match &source.shape {
        Some(shape) => Body::Shaped(fill(shape, source, layout, row, children, tz)),
        None => Body::Tree(tree(source, layout, row, children, tz)),
    };
    Some(Built {
        resource_type: &source.resource_type,
        id,
        version: version(layout, row),
        last_updated: last_updated(source, layout, row, tz),
        body,
    })
}

/// The resource's elements filled into the source's shape.
fn fill<'a>(
    shape: &'a Shape,
    source: &'a Source,
    layout: &SourceLayout,
    row: &Row,
    children: &[ChildRows<'a, '_>],
    tz: Tz,
) -> Filled<'a> {
    let mut filled = Filled::new(shape);
    own_values(source, layout, row, tz, |_, (value, text, origin)| {
        filled.set(value, text, origin)
    });
    for cr in children {
        let Some(k) = source
            .children
            .iter()
            .position(|c| std::ptr::eq(c, cr.child))
        else {
            continue;
        };
        if shape.children[k].list.is_none() {
            continue;
        }
        filled.rows(k, cr.rows.len());
        for (r, child_row) in cr.rows.iter().enumerate() {
            child_values(source, cr, child_row, tz, |n, _, (value, text, origin)| {
                filled.set_in_row(k, r, n, value, text, origin)
            });
        }
    }
    filled.mark();
    filled
}

/// The resource's elements built node by node (sources without a shape).
fn tree<'a>(
    source: &'a Source,
    layout: &SourceLayout,
    row: &Row,
    children: &[ChildRows<'a, '_>],
    tz: Tz,
) -> Tree<'a> {
    let mut tree = Tree::new();
    own_values(source, layout, row, tz, |path, (value, _, origin)| {
        tree.set(path, value, origin)
    });
    for cr in children {
        let base = &cr.child.path;
        for child_row in &cr.rows {
            let idx = tree.next_index(base);
            child_values(source, cr, child_row, tz, |_, path, (value, _, origin)| {
                tree.set_under(base, idx, path, value, origin)
            });
        }
    }
    tree.mark();
    tree
}

/// A value to place: what [`element_value`] gives.
type Placed<'a> = (Option<Cow<'a, Json>>, Option<&'a str>, Origin);

/// Gives `put` each of the source's own elements' path and value for `row`, in order.
fn own_values<'a>(
    source: &'a Source,
    layout: &SourceLayout,
    row: &Row,
    tz: Tz,
    mut put: impl FnMut(&'a [PathSegment], Placed<'a>),
) {
    for (el, pos) in source.elements.iter().zip(&layout.elements) {
        let v = element_value(source, &el.written, el.required, &el.value, *pos, row, tz);
        put(&el.path, v);
    }
}

/// Gives `put` each value of one child row, in order: its elements' (their number and path
/// in the item), then its item value (number 0, the item itself).
fn child_values<'a>(
    source: &Source,
    cr: &ChildRows<'a, '_>,
    child_row: &Row,
    tz: Tz,
    mut put: impl FnMut(usize, &'a [PathSegment], Placed<'a>),
) {
    let child = cr.child;
    for (n, (el, pos)) in child.elements.iter().zip(&cr.layout.elements).enumerate() {
        let v = element_value(
            source,
            &el.written,
            el.required,
            &el.value,
            *pos,
            child_row,
            tz,
        );
        put(n, &el.path, v);
    }
    if let Some(v) = &child.value {
        let value = element_value(
            source,
            &child.written,
            false,
            &v.value,
            cr.layout.value,
            child_row,
            tz,
        );
        put(0, &[], value);
    }
}

/// Builds the resource for `row` as a `serde_json` object (what [`Built`] serializes to).
pub fn resource(
    source: &Source,
    layout: &SourceLayout,
    row: &Row,
    children: &[ChildRows],
    tz: Tz,
) -> Option<Map<String, Json>> {
    build(source, layout, row, children, tz).map(Built::into_map)
}

impl<'a> Built<'a> {
    /// The resource type, borrowed from the mapping.
    pub fn resource_type(&self) -> &'a str {
        self.resource_type
    }

    /// The logical id.
    pub fn id(&self) -> &str {
        &self.id
    }

    /// `meta.lastUpdated`.
    pub fn last_updated(&self) -> Option<&str> {
        self.last_updated.as_deref().or_else(|| {
            self.body
                .member("meta")?
                .members()
                .find(|(k, _)| *k == "lastUpdated")?
                .1
                .leaf()?
                .as_str()
        })
    }

    /// The resource as a `serde_json` object: `resourceType`, `id`, `meta` (the row's version
    /// and last-updated time, then the mapped `meta` elements), then the mapped elements.
    pub fn into_map(self) -> Map<String, Json> {
        let mut out = Map::new();
        out.insert(
            "resourceType".into(),
            Json::String(self.resource_type.to_string()),
        );
        out.insert("id".into(), Json::String(self.id));
        let mut meta = Map::new();
        if let Some(v) = self.version {
            meta.insert("versionId".into(), Json::String(v));
        }
        if let Some(t) = self.last_updated {
            meta.insert("lastUpdated".into(), Json::String(t));
        }
        let mut body = self.body.finish();
        if let Some(Json::Object(m)) = body.shift_remove("meta") {
            for (k, v) in m {
                meta.entry(k).or_insert(v);
            }
        }
        if !meta.is_empty() {
            out.insert("meta".into(), Json::Object(meta));
        }
        body.shift_remove("resourceType");
        body.shift_remove("id");
        out.extend(body);
        out
    }
}

/// Writes what [`Built::into_map`] builds, member for member.
impl Serialize for Built<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut map = s.serialize_map(None)?;
        map.serialize_entry("resourceType", self.resource_type)?;
        map.serialize_entry("id", &self.id)?;
        let meta = self.meta();
        if meta.is_written() {
            map.serialize_entry("meta", &meta)?;
        }
        for (k, v) in self.body.members() {
            if !matches!(k, "meta" | "resourceType" | "id") {
                map.serialize_entry(k, &v)?;
            }
        }
        map.end()
    }
}

impl Built<'_> {
    fn meta(&self) -> Meta<'_, '_> {
        Meta {
            version: self.version.as_deref(),
            last_updated: self.last_updated.as_deref(),
            mapped: self.body.member("meta").filter(|m| m.is_object()),
        }
    }

    /// The resource as compact JSON, the bytes serializing it writes, when its elements were
    /// filled into their source's shape (`None` otherwise: serialize it).
    pub fn compact(&self) -> Option<String> {
        if !matches!(self.body, Body::Shaped(_)) {
            return None;
        }
        let mut out = Vec::with_capacity(1024);
        out.extend_from_slice(b"{\"resourceType\":");
        compact::string(&mut out, self.resource_type);
        out.extend_from_slice(b",\"id\":");
        compact::string(&mut out, &self.id);
        let meta = self.meta();
        if meta.is_written() {
            out.extend_from_slice(b",\"meta\":");
            meta.write(&mut out);
        }
        for (k, v) in self.body.members() {
            if !matches!(k, "meta" | "resourceType" | "id") {
                out.push(b',');
                v.write_key(k, &mut out);
                v.write(&mut out);
            }
        }
        out.push(b'}');
        String::from_utf8(out).ok()
    }
}

/// A resource's `meta`: the row's version and time, then the mapped members they leave.
struct Meta<'t, 'a> {
    version: Option<&'t str>,
    last_updated: Option<&'t str>,
    mapped: Option<Part<'t, 'a>>,
}

impl<'t, 'a> Meta<'t, 'a> {
    fn is_written(&self) -> bool {
        self.version.is_some() || self.last_updated.is_some() || self.mapped.is_some()
    }

    /// The mapped members the row's values leave.
    fn mapped(&self) -> impl Iterator<Item = (&'t str, Part<'t, 'a>)> {
        let (version, last_updated) = (self.version.is_some(), self.last_updated.is_some());
        self.mapped
            .into_iter()
            .flat_map(Part::members)
            .filter(move |(k, _)| match *k {
                "versionId" => !version,
                "lastUpdated" => !last_updated,
                _ => true,
            })
    }

    /// Writes it as compact JSON (what serializing it writes).
    fn write(&self, out: &mut Vec<u8>) {
        out.push(b'{');
        let mut first = true;
        for (k, v) in [
            ("versionId", self.version),
            ("lastUpdated", self.last_updated),
        ] {
            if let Some(v) = v {
                if !first {
                    out.push(b',');
                }
                first = false;
                compact::string(out, k);
                out.push(b':');
                compact::string(out, v);
            }
        }
        for (k, v) in self.mapped() {
            if !first {
                out.push(b',');
            }
            first = false;
            v.write_key(k, out);
            v.write(out);
        }
        out.push(b'}');
    }
}

impl Serialize for Meta<'_, '_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut map = s.serialize_map(None)?;
        if let Some(v) = self.version {
            map.serialize_entry("versionId", v)?;
        }
        if let Some(t) = self.last_updated {
            map.serialize_entry("lastUpdated", t)?;
        }
        for (k, v) in self.mapped() {
            map.serialize_entry(k, &v)?;
        }
        map.end()
    }
}

fn element_value<'a>(
    source: &Source,
    written: &str,
    required: bool,
    value: &'a ElementValue,
    pos: Option<usize>,
    row: &Row,
    tz: Tz,
) -> Placed<'a> {
    match value {
        ElementValue::Constant(c) => (Some(Cow::Borrowed(c)), None, Origin::Constant),
        ElementValue::Sql {
            convert: conv,
            value: sql,
        } => {
            let mut v = pos.and_then(|p| row.get(p)).unwrap_or(&Value::Null);
            if sql.is_none_value(v) {
                v = &Value::Null;
            }
            let origin = if required {
                Origin::RequiredRow
            } else {
                Origin::Row
            };
            match convert_with_text(v, conv, tz) {
                Ok((json, text)) => (json, text, origin),
                Err(e) => {
                    // The value itself is not logged: it may be patient data.
                    tracing::warn!(source = %source.name, element = %written, target = %e.target,
                        "value cannot be converted; element left out");
                    (None, None, origin)
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mapping::{ColumnRef, SqlValue};

    fn layout_with_version() -> SourceLayout {
        SourceLayout {
            columns: vec![SqlValue::Column(ColumnRef {
                qualifier: None,
                name: "V".into(),
                info: Default::default(),
                declared: None,
                none: Vec::new(),
            })],
            id: 0,
            last_updated: None,
            version: Some(0),
            elements: vec![],
            parent_keys: vec![],
        }
    }

    #[test]
    fn versions_are_always_valid_ids() {
        let layout = layout_with_version();
        assert_eq!(version(&layout, &vec![Value::Int(4)]).as_deref(), Some("4"));
        let ts = vec![Value::Text("2024-12-30 19:02:11".into())];
        let v = version(&layout, &ts).unwrap();
        assert!(is_valid_id(&v), "{v}");
        assert_eq!(version(&layout, &ts), Some(v), "stable");
        assert_ne!(
            version(&layout, &vec![Value::Text("2024-12-30 19:02:12".into())]),
            version(&layout, &ts)
        );
        assert_eq!(version(&layout, &vec![Value::Null]), None);
    }
}
