//! Plain row structs, one per legacy table, and their column lists.
//!
//! Values are already in their stored form: CHAR(n) codes are blank-padded, D8 dates are
//! `YYYYMMDD` strings, timestamps have whole seconds.

use chrono::{NaiveDate, NaiveDateTime};
use rust_decimal::Decimal;

/// A typed column value, ready to bind. Nulls keep their type (PostgreSQL needs it).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Val {
    /// INTEGER / SMALLINT.
    Int(Option<i64>),
    /// CHAR / VARCHAR (including D8 dates).
    Text(Option<String>),
    /// DATE.
    Date(Option<NaiveDate>),
    /// TIMESTAMP WITHOUT TIME ZONE / DATETIME.
    Ts(Option<NaiveDateTime>),
    /// DECIMAL(p,s).
    Dec(Option<Decimal>),
}

impl Val {
    /// The value as the canonical string used in dumps (`None` for SQL NULL).
    pub fn to_text(&self) -> Option<String> {
        match self {
            Val::Int(v) => v.map(|v| v.to_string()),
            Val::Text(v) => v.clone(),
            Val::Date(v) => v.map(|d| d.format("%Y-%m-%d").to_string()),
            Val::Ts(v) => v.map(|t| t.format("%Y-%m-%d %H:%M:%S").to_string()),
            Val::Dec(v) => v.map(|d| d.to_string()),
        }
    }
}

/// A column value borrowed from a row, for encoding without copying its text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cell<'a> {
    /// INTEGER / SMALLINT.
    Int(Option<i64>),
    /// CHAR / VARCHAR (including D8 dates).
    Text(Option<&'a str>),
    /// DATE.
    Date(Option<NaiveDate>),
    /// TIMESTAMP WITHOUT TIME ZONE / DATETIME.
    Ts(Option<NaiveDateTime>),
    /// DECIMAL(p,s).
    Dec(Option<Decimal>),
}

impl Cell<'_> {
    /// The value as an owned [`Val`].
    pub fn to_val(self) -> Val {
        match self {
            Cell::Int(v) => Val::Int(v),
            Cell::Text(v) => Val::Text(v.map(str::to_owned)),
            Cell::Date(v) => Val::Date(v),
            Cell::Ts(v) => Val::Ts(v),
            Cell::Dec(v) => Val::Dec(v),
        }
    }
}

/// A table's name and its column names, in insert order.
#[derive(Debug)]
pub struct TableDef {
    /// Table name (upper case).
    pub name: &'static str,
    /// Column names (upper case), in the order [`Row::cells`] visits them.
    pub columns: &'static [&'static str],
}

/// A row of one legacy table.
pub trait Row {
    /// The table this row belongs to.
    const TABLE: &'static TableDef;
    /// Hands this row's values to `out`, one by one, in [`TableDef::columns`] order.
    fn cells<'a>(&'a self, out: &mut dyn FnMut(Cell<'a>));

    /// Appends this row's values, owned, in [`TableDef::columns`] order.
    fn push_values(&self, out: &mut Vec<Val>) {
        self.cells(&mut |c| out.push(c.to_val()));
    }
}

/// Blank-pads a code to a CHAR(n) width.
pub fn pad(code: &str, width: usize) -> String {
    format!("{code:<width$}")
}

fn t(s: &str) -> Cell<'_> {
    Cell::Text(Some(s))
}
fn ot(s: &Option<String>) -> Cell<'_> {
    Cell::Text(s.as_deref())
}
fn i<'a>(v: i64) -> Cell<'a> {
    Cell::Int(Some(v))
}
fn oi<'a>(v: Option<i64>) -> Cell<'a> {
    Cell::Int(v)
}

macro_rules! table {
    ($konst:ident, $name:literal, [$($col:literal),* $(,)?]) => {
        /// Column list of the table of the same name.
        pub static $konst: TableDef = TableDef { name: $name, columns: &[$($col),*] };
    };
}

table!(
    DEPT,
    "DEPT",
    [
        "DEPT_ID",
        "DEPT_CD",
        "DEPT_NM",
        "DEPT_TYP",
        "PARENT_DEPT_ID",
        "PHONE_NO",
        "ACTIVE_FLG",
        "LAST_MOD_TS"
    ]
);
table!(
    PROVIDER,
    "PROVIDER",
    [
        "PROV_ID",
        "NPI",
        "LAST_NM",
        "FIRST_NM",
        "MID_INIT",
        "CRED_CD",
        "SPEC_CD",
        "DEPT_ID",
        "GENDER",
        "ACTIVE_FLG",
        "PHONE_NO",
        "LAST_MOD_TS"
    ]
);
table!(
    PATIENT,
    "PATIENT",
    [
        "PAT_ID",
        "LAST_NM",
        "FIRST_NM",
        "MID_NM",
        "SUFFIX",
        "SEX_CD",
        "BIRTH_DT",
        "DECEASED_FLG",
        "DEATH_DT",
        "MARITAL_CD",
        "LANG_CD",
        "PCP_PROV_ID",
        "DEL_FLG",
        "CREATE_TS",
        "LAST_UPD_TS",
        "ROW_VER"
    ]
);
table!(
    PAT_IDENT,
    "PAT_IDENT",
    ["PAT_ID", "ID_TYP", "ID_VAL", "ASSIGN_AUTH"]
);
table!(
    PAT_PHONE,
    "PAT_PHONE",
    ["PAT_ID", "SEQ_NO", "PHONE_TYP", "PHONE_NO"]
);
table!(
    PAT_ADDR,
    "PAT_ADDR",
    [
        "PAT_ID",
        "ADDR_SEQ",
        "ADDR_TYP",
        "LINE1",
        "LINE2",
        "CITY",
        "STATE_CD",
        "ZIP",
        "COUNTRY_CD",
        "EFF_DT",
        "END_DT"
    ]
);
table!(
    VISIT,
    "VISIT",
    [
        "VISIT_ID",
        "VISIT_NO",
        "PAT_ID",
        "VISIT_TYP",
        "VISIT_STAT",
        "ADMIT_TS",
        "DISCH_TS",
        "ATTEND_PROV_ID",
        "DEPT_ID",
        "ADMIT_REASON",
        "DEL_FLG",
        "LAST_UPD_TS"
    ]
);
table!(
    DIAGNOSIS,
    "DIAGNOSIS",
    [
        "DX_ID",
        "PAT_ID",
        "VISIT_ID",
        "ICD10_CD",
        "DX_DESC",
        "DX_TYP",
        "CLIN_STAT",
        "ONSET_DT",
        "RESOLVED_DT",
        "RECORDED_TS",
        "RECORDED_BY",
        "DEL_FLG"
    ]
);
table!(
    LAB_TEST_MAP,
    "LAB_TEST_MAP",
    ["LOCAL_CD", "LOINC_CD", "LOINC_NM", "UCUM_CD"]
);
table!(
    LAB_RESULT,
    "LAB_RESULT",
    [
        "RSLT_ID",
        "PAT_ID",
        "VISIT_ID",
        "TEST_CD",
        "RSLT_VAL",
        "RSLT_UNITS",
        "REF_LOW",
        "REF_HIGH",
        "ABN_FLG",
        "RSLT_STAT",
        "COLLECT_TS",
        "RESULT_TS",
        "ORDER_PROV_ID",
        "DEL_FLG"
    ]
);
table!(
    VITALS,
    "VITALS",
    [
        "VS_ID",
        "PAT_ID",
        "VISIT_ID",
        "TAKEN_TS",
        "HR",
        "BP_SYS",
        "BP_DIA",
        "TEMP_F",
        "WT_KG",
        "ENTERED_BY",
        "DEL_FLG"
    ]
);
table!(
    RX_ORDER,
    "RX_ORDER",
    [
        "RX_ID",
        "PAT_ID",
        "VISIT_ID",
        "RXNORM_CD",
        "DRUG_NM",
        "SIG_TXT",
        "DOSE_QTY",
        "DOSE_UNIT",
        "ROUTE_CD",
        "FREQ_CD",
        "START_DT",
        "STOP_DT",
        "ORDER_STAT",
        "ORDER_TS",
        "PRESC_PROV_ID",
        "DEL_FLG",
        "LAST_UPD_TS"
    ]
);

/// Every table, in load order.
pub static ALL_TABLES: [&TableDef; 12] = [
    &DEPT,
    &PROVIDER,
    &LAB_TEST_MAP,
    &PATIENT,
    &PAT_IDENT,
    &PAT_PHONE,
    &PAT_ADDR,
    &VISIT,
    &DIAGNOSIS,
    &LAB_RESULT,
    &VITALS,
    &RX_ORDER,
];

/// DEPT: organizations and departments.
#[derive(Debug, Clone, PartialEq, Eq)]
#[allow(missing_docs)]
pub struct DeptRow {
    pub dept_id: i64,
    pub dept_cd: String,
    pub dept_nm: String,
    pub dept_typ: String,
    pub parent_dept_id: Option<i64>,
    pub phone_no: Option<String>,
    pub active_flg: String,
    pub last_mod_ts: NaiveDateTime,
}

impl Row for DeptRow {
    const TABLE: &'static TableDef = &DEPT;
    fn cells<'a>(&'a self, out: &mut dyn FnMut(Cell<'a>)) {
        for cell in [
            i(self.dept_id),
            t(&self.dept_cd),
            t(&self.dept_nm),
            t(&self.dept_typ),
            oi(self.parent_dept_id),
            ot(&self.phone_no),
            t(&self.active_flg),
            Cell::Ts(Some(self.last_mod_ts)),
        ] {
            out(cell);
        }
    }
}

/// PROVIDER: practitioners.
#[derive(Debug, Clone, PartialEq, Eq)]
#[allow(missing_docs)]
pub struct ProviderRow {
    pub prov_id: i64,
    pub npi: Option<String>,
    pub last_nm: String,
    pub first_nm: String,
    pub mid_init: Option<String>,
    pub cred_cd: Option<String>,
    pub spec_cd: Option<String>,
    pub dept_id: Option<i64>,
    pub gender: String,
    pub active_flg: String,
    pub phone_no: Option<String>,
    pub last_mod_ts: NaiveDateTime,
}

impl Row for ProviderRow {
    const TABLE: &'static TableDef = &PROVIDER;
    fn cells<'a>(&'a self, out: &mut dyn FnMut(Cell<'a>)) {
        for cell in [
            i(self.prov_id),
            ot(&self.npi),
            t(&self.last_nm),
            t(&self.first_nm),
            ot(&self.mid_init),
            ot(&self.cred_cd),
            ot(&self.spec_cd),
            oi(self.dept_id),
            t(&self.gender),
            t(&self.active_flg),
            ot(&self.phone_no),
            Cell::Ts(Some(self.last_mod_ts)),
        ] {
            out(cell);
        }
    }
}

/// PATIENT: demographics.
#[derive(Debug, Clone, PartialEq, Eq)]
#[allow(missing_docs)]
pub struct PatientRow {
    pub pat_id: i64,
    pub last_nm: String,
    pub first_nm: String,
    pub mid_nm: Option<String>,
    pub suffix: Option<String>,
    pub sex_cd: String,
    pub birth_dt: String,
    pub deceased_flg: String,
    pub death_dt: Option<String>,
    pub marital_cd: Option<String>,
    pub lang_cd: Option<String>,
    pub pcp_prov_id: Option<i64>,
    pub del_flg: String,
    pub create_ts: NaiveDateTime,
    pub last_upd_ts: NaiveDateTime,
    pub row_ver: i64,
}

impl Row for PatientRow {
    const TABLE: &'static TableDef = &PATIENT;
    fn cells<'a>(&'a self, out: &mut dyn FnMut(Cell<'a>)) {
        for cell in [
            i(self.pat_id),
            t(&self.last_nm),
            t(&self.first_nm),
            ot(&self.mid_nm),
            ot(&self.suffix),
            t(&self.sex_cd),
            t(&self.birth_dt),
            t(&self.deceased_flg),
            ot(&self.death_dt),
            ot(&self.marital_cd),
            ot(&self.lang_cd),
            oi(self.pcp_prov_id),
            t(&self.del_flg),
            Cell::Ts(Some(self.create_ts)),
            Cell::Ts(Some(self.last_upd_ts)),
            i(self.row_ver),
        ] {
            out(cell);
        }
    }
}

/// PAT_IDENT: patient identifiers (MRN, SSN, driver's licence).
#[derive(Debug, Clone, PartialEq, Eq)]
#[allow(missing_docs)]
pub struct PatIdentRow {
    pub pat_id: i64,
    pub id_typ: String,
    pub id_val: String,
    pub assign_auth: Option<String>,
}

impl Row for PatIdentRow {
    const TABLE: &'static TableDef = &PAT_IDENT;
    fn cells<'a>(&'a self, out: &mut dyn FnMut(Cell<'a>)) {
        for cell in [
            i(self.pat_id),
            t(&self.id_typ),
            t(&self.id_val),
            ot(&self.assign_auth),
        ] {
            out(cell);
        }
    }
}

/// PAT_PHONE: patient phone numbers.
#[derive(Debug, Clone, PartialEq, Eq)]
#[allow(missing_docs)]
pub struct PatPhoneRow {
    pub pat_id: i64,
    pub seq_no: i64,
    pub phone_typ: String,
    pub phone_no: String,
}

impl Row for PatPhoneRow {
    const TABLE: &'static TableDef = &PAT_PHONE;
    fn cells<'a>(&'a self, out: &mut dyn FnMut(Cell<'a>)) {
        for cell in [
            i(self.pat_id),
            i(self.seq_no),
            t(&self.phone_typ),
            t(&self.phone_no),
        ] {
            out(cell);
        }
    }
}

/// PAT_ADDR: patient addresses.
#[derive(Debug, Clone, PartialEq, Eq)]
#[allow(missing_docs)]
pub struct PatAddrRow {
    pub pat_id: i64,
    pub addr_seq: i64,
    pub addr_typ: String,
    pub line1: String,
    pub line2: Option<String>,
    pub city: String,
    pub state_cd: String,
    pub zip: String,
    pub country_cd: Option<String>,
    pub eff_dt: Option<NaiveDate>,
    pub end_dt: Option<NaiveDate>,
}

impl Row for PatAddrRow {
    const TABLE: &'static TableDef = &PAT_ADDR;
    fn cells<'a>(&'a self, out: &mut dyn FnMut(Cell<'a>)) {
        for cell in [
            i(self.pat_id),
            i(self.addr_seq),
            t(&self.addr_typ),
            t(&self.line1),
            ot(&self.line2),
            t(&self.city),
            t(&self.state_cd),
            t(&self.zip),
            ot(&self.country_cd),
            Cell::Date(self.eff_dt),
            Cell::Date(self.end_dt),
        ] {
            out(cell);
        }
    }
}

/// VISIT: encounters.
#[derive(Debug, Clone, PartialEq, Eq)]
#[allow(missing_docs)]
pub struct VisitRow {
    pub visit_id: i64,
    pub visit_no: String,
    pub pat_id: i64,
    pub visit_typ: String,
    pub visit_stat: String,
    pub admit_ts: NaiveDateTime,
    pub disch_ts: Option<NaiveDateTime>,
    pub attend_prov_id: Option<i64>,
    pub dept_id: Option<i64>,
    pub admit_reason: Option<String>,
    pub del_flg: String,
    pub last_upd_ts: NaiveDateTime,
}

impl Row for VisitRow {
    const TABLE: &'static TableDef = &VISIT;
    fn cells<'a>(&'a self, out: &mut dyn FnMut(Cell<'a>)) {
        for cell in [
            i(self.visit_id),
            t(&self.visit_no),
            i(self.pat_id),
            t(&self.visit_typ),
            t(&self.visit_stat),
            Cell::Ts(Some(self.admit_ts)),
            Cell::Ts(self.disch_ts),
            oi(self.attend_prov_id),
            oi(self.dept_id),
            ot(&self.admit_reason),
            t(&self.del_flg),
            Cell::Ts(Some(self.last_upd_ts)),
        ] {
            out(cell);
        }
    }
}

/// DIAGNOSIS: coded diagnoses and problem-list entries.
#[derive(Debug, Clone, PartialEq, Eq)]
#[allow(missing_docs)]
pub struct DiagnosisRow {
    pub dx_id: i64,
    pub pat_id: i64,
    pub visit_id: Option<i64>,
    pub icd10_cd: String,
    pub dx_desc: String,
    pub dx_typ: String,
    pub clin_stat: String,
    pub onset_dt: Option<NaiveDate>,
    pub resolved_dt: Option<NaiveDate>,
    pub recorded_ts: NaiveDateTime,
    pub recorded_by: Option<i64>,
    pub del_flg: String,
}

impl Row for DiagnosisRow {
    const TABLE: &'static TableDef = &DIAGNOSIS;
    fn cells<'a>(&'a self, out: &mut dyn FnMut(Cell<'a>)) {
        for cell in [
            i(self.dx_id),
            i(self.pat_id),
            oi(self.visit_id),
            t(&self.icd10_cd),
            t(&self.dx_desc),
            t(&self.dx_typ),
            t(&self.clin_stat),
            Cell::Date(self.onset_dt),
            Cell::Date(self.resolved_dt),
            Cell::Ts(Some(self.recorded_ts)),
            oi(self.recorded_by),
            t(&self.del_flg),
        ] {
            out(cell);
        }
    }
}

/// LAB_TEST_MAP: local lab code → LOINC.
#[derive(Debug, Clone, PartialEq, Eq)]
#[allow(missing_docs)]
pub struct LabTestMapRow {
    pub local_cd: String,
    pub loinc_cd: String,
    pub loinc_nm: String,
    pub ucum_cd: String,
}

impl Row for LabTestMapRow {
    const TABLE: &'static TableDef = &LAB_TEST_MAP;
    fn cells<'a>(&'a self, out: &mut dyn FnMut(Cell<'a>)) {
        for cell in [
            t(&self.local_cd),
            t(&self.loinc_cd),
            t(&self.loinc_nm),
            t(&self.ucum_cd),
        ] {
            out(cell);
        }
    }
}

/// LAB_RESULT: laboratory results.
#[derive(Debug, Clone, PartialEq, Eq)]
#[allow(missing_docs)]
pub struct LabResultRow {
    pub rslt_id: i64,
    pub pat_id: i64,
    pub visit_id: Option<i64>,
    pub test_cd: String,
    pub rslt_val: String,
    pub rslt_units: String,
    pub ref_low: Option<String>,
    pub ref_high: Option<String>,
    pub abn_flg: Option<String>,
    pub rslt_stat: String,
    pub collect_ts: NaiveDateTime,
    pub result_ts: Option<NaiveDateTime>,
    pub order_prov_id: Option<i64>,
    pub del_flg: String,
}

impl Row for LabResultRow {
    const TABLE: &'static TableDef = &LAB_RESULT;
    fn cells<'a>(&'a self, out: &mut dyn FnMut(Cell<'a>)) {
        for cell in [
            i(self.rslt_id),
            i(self.pat_id),
            oi(self.visit_id),
            t(&self.test_cd),
            t(&self.rslt_val),
            t(&self.rslt_units),
            ot(&self.ref_low),
            ot(&self.ref_high),
            ot(&self.abn_flg),
            t(&self.rslt_stat),
            Cell::Ts(Some(self.collect_ts)),
            Cell::Ts(self.result_ts),
            oi(self.order_prov_id),
            t(&self.del_flg),
        ] {
            out(cell);
        }
    }
}

/// VITALS: one row holds several measurements taken together.
#[derive(Debug, Clone, PartialEq, Eq)]
#[allow(missing_docs)]
pub struct VitalsRow {
    pub vs_id: i64,
    pub pat_id: i64,
    pub visit_id: Option<i64>,
    pub taken_ts: NaiveDateTime,
    pub hr: Option<i64>,
    pub bp_sys: Option<i64>,
    pub bp_dia: Option<i64>,
    pub temp_f: Option<Decimal>,
    pub wt_kg: Option<Decimal>,
    pub entered_by: Option<i64>,
    pub del_flg: String,
}

impl Row for VitalsRow {
    const TABLE: &'static TableDef = &VITALS;
    fn cells<'a>(&'a self, out: &mut dyn FnMut(Cell<'a>)) {
        for cell in [
            i(self.vs_id),
            i(self.pat_id),
            oi(self.visit_id),
            Cell::Ts(Some(self.taken_ts)),
            oi(self.hr),
            oi(self.bp_sys),
            oi(self.bp_dia),
            Cell::Dec(self.temp_f),
            Cell::Dec(self.wt_kg),
            oi(self.entered_by),
            t(&self.del_flg),
        ] {
            out(cell);
        }
    }
}

/// RX_ORDER: medication orders.
#[derive(Debug, Clone, PartialEq, Eq)]
#[allow(missing_docs)]
pub struct RxOrderRow {
    pub rx_id: i64,
    pub pat_id: i64,
    pub visit_id: Option<i64>,
    pub rxnorm_cd: String,
    pub drug_nm: String,
    pub sig_txt: Option<String>,
    pub dose_qty: Option<Decimal>,
    pub dose_unit: Option<String>,
    pub route_cd: Option<String>,
    pub freq_cd: Option<String>,
    pub start_dt: Option<NaiveDate>,
    pub stop_dt: Option<NaiveDate>,
    pub order_stat: String,
    pub order_ts: NaiveDateTime,
    pub presc_prov_id: Option<i64>,
    pub del_flg: String,
    pub last_upd_ts: NaiveDateTime,
}

impl Row for RxOrderRow {
    const TABLE: &'static TableDef = &RX_ORDER;
    fn cells<'a>(&'a self, out: &mut dyn FnMut(Cell<'a>)) {
        for cell in [
            i(self.rx_id),
            i(self.pat_id),
            oi(self.visit_id),
            t(&self.rxnorm_cd),
            t(&self.drug_nm),
            ot(&self.sig_txt),
            Cell::Dec(self.dose_qty),
            ot(&self.dose_unit),
            ot(&self.route_cd),
            ot(&self.freq_cd),
            Cell::Date(self.start_dt),
            Cell::Date(self.stop_dt),
            t(&self.order_stat),
            Cell::Ts(Some(self.order_ts)),
            oi(self.presc_prov_id),
            t(&self.del_flg),
            Cell::Ts(Some(self.last_upd_ts)),
        ] {
            out(cell);
        }
    }
}

/// Everything generated for one patient: the PATIENT row and all rows that hang off it.
#[derive(Debug, Clone, PartialEq, Eq)]
#[allow(missing_docs)]
pub struct PatientRows {
    pub patient: PatientRow,
    pub idents: Vec<PatIdentRow>,
    pub phones: Vec<PatPhoneRow>,
    pub addrs: Vec<PatAddrRow>,
    pub visits: Vec<VisitRow>,
    pub diagnoses: Vec<DiagnosisRow>,
    pub labs: Vec<LabResultRow>,
    pub vitals: Vec<VitalsRow>,
    pub rx: Vec<RxOrderRow>,
}
