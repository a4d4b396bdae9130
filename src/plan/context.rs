//! What planning one statement needs: the mapping, the database's capabilities, the request's
//! [`Scope`], and the source being read. Every source a statement reads is written through
//! [`write_from`], which adds the scope's conditions.

use super::PlanError;
use super::scope::{self, Scope};
use super::subquery::Subqueries;
use crate::mapping::{ElementMapping, LeafRef, Location, Mapping, Source, SqlValue};
use crate::search::operand::Operand;
use crate::sql::{Caps, Dialect, SqlWriter};

/// The planning context of one source.
#[derive(Clone, Copy)]
pub struct Context<'a> {
    /// The whole mapping (chains, `_has` and the scope reach other sources).
    pub mapping: &'a Mapping,
    /// The database written for.
    pub caps: &'a Caps,
    /// Conditions every source read must meet.
    pub scope: &'a Scope,
    /// The source.
    pub source: &'a Source,
    /// The sizes of sub-selects known for this search (`None`: sub-selects are written as
    /// they are, nothing is asked).
    pub subqueries: Option<&'a Subqueries>,
}

impl<'a> Context<'a> {
    /// The dialect written.
    pub fn dialect(&self) -> Dialect {
        self.caps.dialect
    }

    /// The same context for another source.
    pub fn with_source(&self, source: &'a Source) -> Context<'a> {
        Context { source, ..*self }
    }

    /// The same context without a scope: for writing the scope's own conditions.
    pub(super) fn unscoped(&self) -> Context<'a> {
        Context {
            scope: Scope::none(),
            ..*self
        }
    }

    /// The SQL text of a leaf's value (qualified for its location) and its element; `NULL`
    /// for a constant.
    pub fn leaf(&self, l: LeafRef) -> (Operand<'a>, &'a ElementMapping) {
        let el = self.source.leaf(l);
        let alias = match l.location {
            Location::Row => self.source.alias.as_str(),
            Location::Child(c) => self.source.children[c].alias.as_str(),
        };
        let op = match el.sql_value() {
            Some(value) => Operand {
                sql: value_sql(self.dialect(), alias, value),
                column: value.column_info(),
                none: value.none(),
            },
            None => Operand::new("NULL".to_string(), None),
        };
        (op, el)
    }

    /// A value of the source row as an operand.
    pub fn row_value(&self, v: &'a SqlValue) -> Operand<'a> {
        Operand {
            sql: value_sql(self.dialect(), &self.source.alias, v),
            column: v.column_info(),
            none: v.none(),
        }
    }
}

fn value_sql(dialect: Dialect, alias: &str, v: &SqlValue) -> String {
    crate::mapping::sql::value_sql(dialect, alias, v)
}

/// ` FROM <source> ... WHERE (<filter>)` and the scope's conditions on the source: how every
/// statement of the planner reads a source.
pub fn write_from(w: &mut SqlWriter, cx: &Context) -> Result<(), PlanError> {
    crate::mapping::sql::write_from(w, cx.source);
    scope::write(w, cx)
}
