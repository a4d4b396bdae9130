//! Generator-side batching: rows are encoded, table by table, into the form the writer sends
//! as is — PostgreSQL `COPY … FROM STDIN` text, or the bound values of a multi-row INSERT.
//!
//! Pure: no I/O. The generator thread fills a [`Batcher`] and hands its full [`Batch`]es to
//! the writer, so encoding costs the generator's core, not the writer's, and memory stays
//! bounded by the batch size whatever the number of patients.

use std::io::Write as _;

use chrono::{Datelike, Timelike};

use super::rows::{Cell, PatientRows, Row, TableDef, Val};

/// How rows are encoded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Encoding {
    /// PostgreSQL `COPY` text format; a batch is sent when it holds about this many bytes.
    CopyText {
        /// Target batch size in bytes.
        bytes: usize,
    },
    /// Values for a multi-row INSERT with bound parameters; a batch holds at most `max_rows`
    /// rows and at most `max_params` values.
    Params {
        /// Upper bound on rows per statement.
        max_rows: usize,
        /// The database's limit on bound parameters per statement.
        max_params: usize,
    },
}

/// The encoded rows of a batch.
#[derive(Debug, Clone, PartialEq)]
pub enum Payload {
    /// `COPY` text: one line per row, tab-separated, `\N` for NULL.
    Copy(Vec<u8>),
    /// Row-major values, `rows × columns` of them.
    Params(Vec<Val>),
}

/// Encoded rows of one table.
#[derive(Debug, Clone)]
pub struct Batch {
    /// The table.
    pub table: &'static TableDef,
    /// Number of rows.
    pub rows: usize,
    /// The rows.
    pub payload: Payload,
    /// Patients generated when the batch was cut (for progress reports).
    pub patients_done: u32,
}

impl Batch {
    /// Whether this is a full-size batch of the [`Encoding::Params`] kind (its statement text
    /// repeats and is worth preparing once).
    pub fn is_full(&self, encoding: Encoding) -> bool {
        match encoding {
            Encoding::Params {
                max_rows,
                max_params,
            } => self.rows == rows_per_statement(self.table, max_rows, max_params),
            Encoding::CopyText { .. } => false,
        }
    }
}

/// Rows per full INSERT of `table`.
fn rows_per_statement(table: &TableDef, max_rows: usize, max_params: usize) -> usize {
    (max_params / table.columns.len()).clamp(1, max_rows.max(1))
}

/// Accumulates rows per table and cuts [`Batch`]es.
#[derive(Debug)]
pub struct Batcher {
    encoding: Encoding,
    pending: Vec<Batch>,
    ready: Vec<Batch>,
    patients_done: u32,
}

impl Batcher {
    /// An empty batcher.
    pub fn new(encoding: Encoding) -> Self {
        Batcher {
            encoding,
            pending: Vec::new(),
            ready: Vec::new(),
            patients_done: 0,
        }
    }

    /// Adds one row.
    pub fn push<R: Row>(&mut self, row: &R) {
        let table = R::TABLE;
        let encoding = self.encoding;
        let idx = match self
            .pending
            .iter()
            .position(|b| std::ptr::eq(b.table, table))
        {
            Some(i) => i,
            None => {
                self.pending.push(self.empty(table));
                self.pending.len() - 1
            }
        };
        let batch = &mut self.pending[idx];
        match &mut batch.payload {
            Payload::Copy(buf) => {
                let mut first = true;
                row.cells(&mut |c| {
                    if !first {
                        buf.push(b'\t');
                    }
                    first = false;
                    copy_cell(buf, c);
                });
                buf.push(b'\n');
            }
            Payload::Params(vals) => row.push_values(vals),
        }
        batch.rows += 1;
        let full = match (encoding, &batch.payload) {
            (Encoding::CopyText { bytes }, Payload::Copy(buf)) => buf.len() >= bytes,
            (
                Encoding::Params {
                    max_rows,
                    max_params,
                },
                _,
            ) => batch.rows >= rows_per_statement(table, max_rows, max_params),
            _ => false,
        };
        if full {
            let fresh = self.empty(table);
            let mut done = std::mem::replace(&mut self.pending[idx], fresh);
            done.patients_done = self.patients_done;
            self.ready.push(done);
        }
    }

    /// Adds many rows.
    pub fn push_all<R: Row>(&mut self, rows: &[R]) {
        for r in rows {
            self.push(r);
        }
    }

    /// Adds a patient and all of its rows, and counts it as done.
    pub fn push_patient(&mut self, p: &PatientRows) {
        self.push(&p.patient);
        self.push_all(&p.idents);
        self.push_all(&p.phones);
        self.push_all(&p.addrs);
        self.push_all(&p.visits);
        self.push_all(&p.diagnoses);
        self.push_all(&p.labs);
        self.push_all(&p.vitals);
        self.push_all(&p.rx);
        self.patients_done += 1;
    }

    /// Takes the batches that are full.
    pub fn take_ready(&mut self) -> std::vec::Drain<'_, Batch> {
        self.ready.drain(..)
    }

    /// Every remaining batch, full or not (empty ones left out).
    pub fn finish(mut self) -> Vec<Batch> {
        let done = self.patients_done;
        let mut out = std::mem::take(&mut self.ready);
        out.extend(self.pending.into_iter().filter(|b| b.rows > 0));
        for b in &mut out {
            b.patients_done = done;
        }
        out
    }

    fn empty(&self, table: &'static TableDef) -> Batch {
        let payload = match self.encoding {
            Encoding::CopyText { bytes } => Payload::Copy(Vec::with_capacity(bytes + 4096)),
            Encoding::Params {
                max_rows,
                max_params,
            } => Payload::Params(Vec::with_capacity(
                rows_per_statement(table, max_rows, max_params) * table.columns.len(),
            )),
        };
        Batch {
            table,
            rows: 0,
            payload,
            patients_done: 0,
        }
    }
}

/// Appends one value in PostgreSQL `COPY` text format.
fn copy_cell(out: &mut Vec<u8>, cell: Cell<'_>) {
    // Writing into a Vec<u8> cannot fail.
    let _ = match cell {
        Cell::Int(Some(v)) => write!(out, "{v}"),
        Cell::Text(Some(s)) => {
            copy_text(out, s);
            Ok(())
        }
        Cell::Date(Some(d)) => write!(out, "{:04}-{:02}-{:02}", d.year(), d.month(), d.day()),
        Cell::Ts(Some(t)) => write!(
            out,
            "{:04}-{:02}-{:02} {:02}:{:02}:{:02}",
            t.year(),
            t.month(),
            t.day(),
            t.hour(),
            t.minute(),
            t.second()
        ),
        Cell::Dec(Some(d)) => write!(out, "{d}"),
        Cell::Int(None)
        | Cell::Text(None)
        | Cell::Date(None)
        | Cell::Ts(None)
        | Cell::Dec(None) => {
            out.extend_from_slice(b"\\N");
            Ok(())
        }
    };
}

/// Appends text with `COPY`'s backslash escapes for backslash, tab, newline and carriage
/// return.
fn copy_text(out: &mut Vec<u8>, s: &str) {
    let bytes = s.as_bytes();
    if !bytes
        .iter()
        .any(|b| matches!(b, b'\\' | b'\t' | b'\n' | b'\r'))
    {
        out.extend_from_slice(bytes);
        return;
    }
    for &b in bytes {
        match b {
            b'\\' => out.extend_from_slice(b"\\\\"),
            b'\t' => out.extend_from_slice(b"\\t"),
            b'\n' => out.extend_from_slice(b"\\n"),
            b'\r' => out.extend_from_slice(b"\\r"),
            _ => out.push(b),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::seed::Generator;
    use crate::seed::rows::{DEPT, PATIENT};

    fn copy_text_of(cells: &[Cell<'_>]) -> String {
        let mut out = Vec::new();
        for (i, c) in cells.iter().enumerate() {
            if i > 0 {
                out.push(b'\t');
            }
            copy_cell(&mut out, *c);
        }
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn copy_text_escapes_and_formats_every_kind() {
        use chrono::NaiveDate;
        let day = NaiveDate::from_ymd_opt(2019, 3, 4).unwrap();
        let got = copy_text_of(&[
            Cell::Int(Some(-7)),
            Cell::Text(Some("a\\b\tc\nd\re O'NEIL")),
            Cell::Text(None),
            Cell::Date(Some(day)),
            Cell::Ts(day.and_hms_opt(9, 5, 0)),
            Cell::Dec(Some(rust_decimal::Decimal::new(9860, 2))),
            Cell::Int(None),
        ]);
        assert_eq!(
            got,
            "-7\ta\\\\b\\tc\\nd\\re O'NEIL\t\\N\t2019-03-04\t2019-03-04 09:05:00\t98.60\t\\N"
        );
    }

    #[test]
    fn batches_are_cut_by_size_and_keep_every_row_in_order() {
        let encoding = Encoding::CopyText { bytes: 4096 };
        let mut generator = Generator::new(crate::seed::DEFAULT_SEED);
        let mut b = Batcher::new(encoding);
        b.push_all(&generator.departments());
        let mut batches = Vec::new();
        let mut patients = Vec::new();
        for _ in 0..200 {
            let p = generator.next_patient();
            b.push_patient(&p);
            patients.push(p.patient);
            batches.extend(b.take_ready());
        }
        assert!(batches.iter().any(|x| std::ptr::eq(x.table, &PATIENT)));
        assert!(batches.iter().all(|x| match &x.payload {
            Payload::Copy(buf) => buf.len() >= 4096 && buf.len() < 8192,
            Payload::Params(_) => false,
        }));
        batches.extend(b.finish());
        let lines: Vec<String> = batches
            .iter()
            .filter(|x| std::ptr::eq(x.table, &PATIENT))
            .flat_map(|x| match &x.payload {
                Payload::Copy(buf) => String::from_utf8(buf.clone())
                    .unwrap()
                    .lines()
                    .map(str::to_owned)
                    .collect::<Vec<_>>(),
                Payload::Params(_) => vec![],
            })
            .collect();
        assert_eq!(lines.len(), 200);
        for (line, p) in lines.iter().zip(&patients) {
            assert!(line.starts_with(&format!("{}\t{}\t", p.pat_id, p.last_nm)));
            assert_eq!(line.split('\t').count(), PATIENT.columns.len());
        }
        let last = batches.last().unwrap();
        assert_eq!(last.patients_done, 200);
        let depts: usize = batches
            .iter()
            .filter(|x| std::ptr::eq(x.table, &DEPT))
            .map(|x| x.rows)
            .sum();
        assert_eq!(depts, generator.departments().len());
    }

    #[test]
    fn params_batches_respect_the_bind_limit() {
        let encoding = Encoding::Params {
            max_rows: 1000,
            max_params: 100,
        };
        let mut generator = Generator::new(crate::seed::DEFAULT_SEED);
        let mut b = Batcher::new(encoding);
        for _ in 0..20 {
            b.push_patient(&generator.next_patient());
        }
        let mut batches: Vec<Batch> = b.take_ready().collect();
        assert!(!batches.is_empty());
        for x in &batches {
            assert!(x.is_full(encoding));
            assert_eq!(x.rows, 100 / x.table.columns.len());
        }
        batches.extend(b.finish());
        for x in &batches {
            let Payload::Params(vals) = &x.payload else {
                panic!("params expected")
            };
            assert_eq!(vals.len(), x.rows * x.table.columns.len());
        }
        let patients: usize = batches
            .iter()
            .filter(|x| std::ptr::eq(x.table, &PATIENT))
            .map(|x| x.rows)
            .sum();
        assert_eq!(patients, 20);
    }
}
