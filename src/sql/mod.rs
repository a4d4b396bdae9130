//! The bottom SQL layer, below everything that writes or runs SQL: the dialects and every
//! way they differ ([`Dialect`], one method per difference), statements with bound parameters
//! and their writer ([`SqlWriter`]), the neutral value type rows decode into and cursors carry
//! ([`Value`]), what the database says of a column, and what the connected database can do
//! ([`Caps`]). Pure; it depends on nothing else in the crate.

pub mod caps;
pub mod column;
pub mod dialect;
pub mod explain;
pub mod value;
pub mod writer;

pub use caps::{Accents, Caps};
pub use column::{ColumnInfo, DbColumn, SqlType};
pub use dialect::Dialect;
pub use value::{Row, Value};
pub use writer::{SqlWriter, Statement, decimal_text_param, is_decimal_text, placeholders};
