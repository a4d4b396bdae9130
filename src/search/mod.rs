//! Search semantics, one module per hard part (pure, no I/O): the prefixes, date ranges,
//! number and quantity ranges, string matching. Each module parses its search values and writes the SQL
//! predicate for a mapped column with bound parameters, for every dialect.

pub mod date;
pub mod number;
pub mod prefix;
pub mod string;

pub use prefix::Prefix;
