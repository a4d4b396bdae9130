//! Keyset continuation: which rows of one source come after the last row served, in the page's
//! order. Pure: the page planner renders the answer as SQL, the tests evaluate it in memory.
//!
//! A page is ordered by its sort keys, each in the database's native NULL placement (so an
//! index on a sort column can be read in order), then by source, then by id key. The rows after
//! the keyset are cut into [`Part`]s, each a range of the first sort key that an index on it
//! serves (`x >= v`, `x IS NULL`, `x IS NOT NULL`) plus a residual test; the page statement
//! reads each part with its own `ORDER BY ... LIMIT`, and the parts never overlap.

use crate::sql::Dialect;

/// The order of one sort key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KeyOrder {
    /// Descending.
    pub desc: bool,
    /// NULLs come after every value (in this direction).
    pub nulls_last: bool,
}

impl KeyOrder {
    /// `ORDER BY x [DESC]` as `dialect` runs it, with no `NULLS FIRST/LAST` (which an index
    /// could not serve): SQLite and MySQL/MariaDB take NULL as the smallest value, PostgreSQL
    /// as the largest.
    pub fn native(dialect: Dialect, desc: bool) -> KeyOrder {
        KeyOrder {
            desc,
            nulls_last: desc == dialect.nulls_sort_first(),
        }
    }
}

/// A test on one row, against the keyset row.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Atom {
    /// Sort value `j` is NULL.
    IsNull(usize),
    /// Sort value `j` is not NULL.
    NotNull(usize),
    /// Sort value `j` equals the keyset's (which is not NULL).
    Eq(usize),
    /// Sort value `j` comes strictly after the keyset's non-NULL value (`>`, `<` descending).
    /// A NULL value does not.
    After(usize),
    /// Sort value `j` equals or comes after the keyset's non-NULL value (`>=`, `<=`).
    AtOrAfter(usize),
    /// The id key comes after the keyset's (`>`, `<` when the key runs descending).
    KeyAfter,
}

/// Rows of one source tied with the keyset on every sort value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tie {
    /// A source before the keyset's: its ties were served already.
    Exclude,
    /// The keyset's source: its ties after the keyset's key.
    KeyAfter,
    /// A source after the keyset's: its ties are still to come.
    Include,
}

/// One range of rows after the keyset.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Part {
    /// Tests every row of the part meets: a range of the first sort key.
    pub range: Vec<Atom>,
    /// Alternatives, one of which a row must meet entirely (`None`: no further test). Never
    /// empty, and no alternative is empty.
    pub any: Option<Vec<Vec<Atom>>>,
}

/// The parts of one source after the keyset.
///
/// `order`: the sort keys; `cursor_null[j]`: whether the keyset's sort value `j` is NULL;
/// `absent[j]`: whether this source has no value for key `j` (always NULL, and its tests are
/// decided here rather than left to the database). No part: nothing of the source is left.
pub fn parts(order: &[KeyOrder], cursor_null: &[bool], absent: &[bool], tie: Tie) -> Vec<Part> {
    let mut out = Vec::new();
    if order.is_empty() {
        out.push(Part {
            range: vec![],
            any: Some(alternatives(order, cursor_null, 0, tie)),
        });
    } else if cursor_null[0] {
        // The rest of the NULL group, then (if NULLs come first) every value.
        out.push(Part {
            range: vec![Atom::IsNull(0)],
            any: Some(alternatives(order, cursor_null, 1, tie)),
        });
        if !order[0].nulls_last {
            out.push(Part {
                range: vec![Atom::NotNull(0)],
                any: None,
            });
        }
    } else {
        // The rest of the keyset's value and the values after it: one range of an index.
        let mut any = vec![vec![Atom::After(0)]];
        for mut alt in alternatives(order, cursor_null, 1, tie) {
            alt.insert(0, Atom::Eq(0));
            any.push(alt);
        }
        out.push(Part {
            range: vec![Atom::AtOrAfter(0)],
            any: Some(any),
        });
        if order[0].nulls_last {
            out.push(Part {
                range: vec![Atom::IsNull(0)],
                any: None,
            });
        }
    }
    out.into_iter().filter_map(|p| fold(p, absent)).collect()
}

/// Rows after the keyset among those tied with it on the keys before `from`.
fn alternatives(order: &[KeyOrder], cursor_null: &[bool], from: usize, tie: Tie) -> Vec<Vec<Atom>> {
    let mut out = Vec::new();
    for j in from..=order.len() {
        let tied: Vec<Atom> = (from..j)
            .map(|i| {
                if cursor_null[i] {
                    Atom::IsNull(i)
                } else {
                    Atom::Eq(i)
                }
            })
            .collect();
        let last: Vec<Atom> = match (order.get(j), cursor_null.get(j)) {
            (Some(o), Some(true)) if o.nulls_last => vec![],
            (Some(_), Some(true)) => vec![Atom::NotNull(j)],
            (Some(o), _) if o.nulls_last => vec![Atom::After(j), Atom::IsNull(j)],
            (Some(_), _) => vec![Atom::After(j)],
            (None, _) => match tie {
                Tie::Exclude => vec![],
                Tie::KeyAfter => vec![Atom::KeyAfter],
                // No further test: an empty alternative.
                Tie::Include => {
                    out.push(tied);
                    continue;
                }
            },
        };
        for a in last {
            let mut alt = tied.clone();
            alt.push(a);
            out.push(alt);
        }
    }
    out
}

/// The value of `a` on a source whose value `j` is always NULL, if `j` is absent.
fn decided(a: Atom, absent: &[bool]) -> Option<bool> {
    let (j, on_null) = match a {
        Atom::IsNull(j) => (j, true),
        Atom::NotNull(j) | Atom::Eq(j) | Atom::After(j) | Atom::AtOrAfter(j) => (j, false),
        Atom::KeyAfter => return None,
    };
    absent.get(j).copied().unwrap_or(false).then_some(on_null)
}

/// Decides the tests on absent values; `None` when the part cannot match.
fn fold(p: Part, absent: &[bool]) -> Option<Part> {
    let mut range = Vec::new();
    for a in p.range {
        match decided(a, absent) {
            Some(false) => return None,
            Some(true) => {}
            None => range.push(a),
        }
    }
    let any = match p.any {
        None => None,
        Some(alts) => {
            let mut kept = Vec::new();
            let mut always = false;
            'alt: for alt in alts {
                let mut atoms = Vec::new();
                for a in alt {
                    match decided(a, absent) {
                        Some(false) => continue 'alt,
                        Some(true) => {}
                        None => atoms.push(a),
                    }
                }
                always |= atoms.is_empty();
                kept.push(atoms);
            }
            if kept.is_empty() {
                return None;
            }
            (!always).then_some(kept)
        }
    };
    Some(Part { range, any })
}

#[cfg(test)]
mod tests {
    use std::cmp::Ordering;

    use proptest::prelude::*;

    use super::*;

    /// A row in memory: its source, sort values (`None`: NULL) and id key.
    #[derive(Debug, Clone)]
    struct Row {
        source: usize,
        sort: Vec<Option<i8>>,
        key: i32,
    }

    fn holds(a: Atom, row: &Row, cursor: &Row, order: &[KeyOrder], key_desc: bool) -> bool {
        let cmp = |j: usize| {
            let (Some(r), Some(c)) = (row.sort[j], cursor.sort[j]) else {
                return None;
            };
            Some(if order[j].desc { c.cmp(&r) } else { r.cmp(&c) })
        };
        match a {
            Atom::IsNull(j) => row.sort[j].is_none(),
            Atom::NotNull(j) => row.sort[j].is_some(),
            Atom::Eq(j) => {
                assert!(cursor.sort[j].is_some(), "Eq on a NULL keyset value");
                cmp(j) == Some(Ordering::Equal)
            }
            Atom::After(j) => cmp(j) == Some(Ordering::Greater),
            Atom::AtOrAfter(j) => matches!(cmp(j), Some(Ordering::Greater | Ordering::Equal)),
            Atom::KeyAfter => {
                assert_eq!(row.source, cursor.source);
                if key_desc {
                    row.key < cursor.key
                } else {
                    row.key > cursor.key
                }
            }
        }
    }

    fn matches(p: &Part, row: &Row, cursor: &Row, order: &[KeyOrder], key_desc: bool) -> bool {
        let h = |a: &Atom| holds(*a, row, cursor, order, key_desc);
        p.range.iter().all(h)
            && p.any
                .as_ref()
                .is_none_or(|alts| alts.iter().any(|alt| alt.iter().all(h)))
    }

    /// The page order, written independently of [`KeyOrder::native`]: NULL is the smallest
    /// value on SQLite and MySQL, the largest on PostgreSQL; then source, then key.
    fn page_cmp(a: &Row, b: &Row, dialect: Dialect, desc: &[bool], key_desc: bool) -> Ordering {
        let rank = |v: Option<i8>| match v {
            Some(x) => i32::from(x),
            None if dialect == Dialect::Postgres => i32::MAX,
            None => i32::MIN,
        };
        for (j, d) in desc.iter().enumerate() {
            let o = rank(a.sort[j]).cmp(&rank(b.sort[j]));
            let o = if *d { o.reverse() } else { o };
            if o != Ordering::Equal {
                return o;
            }
        }
        a.source.cmp(&b.source).then(if key_desc {
            b.key.cmp(&a.key)
        } else {
            a.key.cmp(&b.key)
        })
    }

    fn case() -> impl Strategy<Value = (Dialect, Vec<bool>, bool, Vec<Vec<bool>>, Vec<Row>)> {
        (
            prop::sample::select(Dialect::ALL.to_vec()),
            prop::collection::vec(any::<bool>(), 0..=3),
            any::<bool>(),
        )
            .prop_flat_map(|(dialect, desc, key_desc)| {
                let m = desc.len();
                let absent = prop::collection::vec(prop::collection::vec(any::<bool>(), m), 3);
                let rows = prop::collection::vec(
                    (
                        0..3usize,
                        prop::collection::vec(prop::option::weighted(0.7, 0..3i8), m),
                    ),
                    1..40,
                );
                (Just(dialect), Just(desc), Just(key_desc), absent, rows)
            })
            .prop_map(|(dialect, desc, key_desc, absent, rows)| {
                let rows = rows
                    .into_iter()
                    .enumerate()
                    .map(|(i, (source, sort))| Row {
                        source,
                        // A source without the key has NULL in its slot.
                        sort: sort
                            .into_iter()
                            .enumerate()
                            .map(|(j, v)| if absent[source][j] { None } else { v })
                            .collect(),
                        key: i as i32,
                    })
                    .collect();
                (dialect, desc, key_desc, absent, rows)
            })
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(400))]

        /// From every row as the keyset, the parts select exactly the rows after it in the
        /// page order, each in one part only (so no row is served twice or skipped).
        #[test]
        fn parts_select_exactly_the_rows_after_the_keyset(
            (dialect, desc, key_desc, absent, rows) in case()
        ) {
            let order: Vec<KeyOrder> = desc.iter().map(|d| KeyOrder::native(dialect, *d)).collect();
            for cursor in &rows {
                let cursor_null: Vec<bool> = cursor.sort.iter().map(Option::is_none).collect();
                for row in &rows {
                    let tie = match row.source.cmp(&cursor.source) {
                        Ordering::Less => Tie::Exclude,
                        Ordering::Equal => Tie::KeyAfter,
                        Ordering::Greater => Tie::Include,
                    };
                    let ps = parts(&order, &cursor_null, &absent[row.source], tie);
                    let hits = ps
                        .iter()
                        .filter(|p| matches(p, row, cursor, &order, key_desc))
                        .count();
                    let after = page_cmp(row, cursor, dialect, &desc, key_desc) == Ordering::Greater;
                    prop_assert!(hits <= 1, "{row:?} in {hits} parts after {cursor:?}: {ps:?}");
                    prop_assert_eq!(hits == 1, after, "{:?} after {:?}: {:?}", row, cursor, ps);
                    for p in &ps {
                        // Folded parts never test an absent value.
                        let tested = p.range.iter().chain(p.any.iter().flatten().flatten());
                        for a in tested {
                            prop_assert_eq!(decided(*a, &absent[row.source]), None);
                        }
                    }
                }
            }
        }
    }

    #[test]
    fn native_null_placement() {
        let o = |d, desc| KeyOrder::native(d, desc).nulls_last;
        assert!(!o(Dialect::Sqlite, false) && o(Dialect::Sqlite, true));
        assert!(!o(Dialect::Mysql, false) && o(Dialect::Mysql, true));
        assert!(o(Dialect::Postgres, false) && !o(Dialect::Postgres, true));
    }

    #[test]
    fn a_non_null_keyset_is_one_index_range() {
        let asc = KeyOrder::native(Dialect::Sqlite, false);
        assert_eq!(
            parts(&[asc], &[false], &[false], Tie::KeyAfter),
            vec![Part {
                range: vec![Atom::AtOrAfter(0)],
                any: Some(vec![
                    vec![Atom::After(0)],
                    vec![Atom::Eq(0), Atom::KeyAfter]
                ]),
            }]
        );
        // PostgreSQL ascending: the NULLs come after every value, in a range of their own.
        let pg = KeyOrder::native(Dialect::Postgres, false);
        let ps = parts(&[pg], &[false], &[false], Tie::KeyAfter);
        assert_eq!(ps.len(), 2);
        assert_eq!(
            ps[1],
            Part {
                range: vec![Atom::IsNull(0)],
                any: None
            }
        );
        // A source without the key: all its rows are NULL, so after a value only if NULLs
        // come last.
        assert_eq!(
            parts(&[pg], &[false], &[true], Tie::Include),
            vec![Part {
                range: vec![],
                any: None
            }]
        );
        assert!(parts(&[asc], &[false], &[true], Tie::Include).is_empty());
        // No sort keys: the key alone.
        assert!(parts(&[], &[], &[], Tie::Exclude).is_empty());
        assert_eq!(
            parts(&[], &[], &[], Tie::KeyAfter),
            vec![Part {
                range: vec![],
                any: Some(vec![vec![Atom::KeyAfter]])
            }]
        );
    }
}
