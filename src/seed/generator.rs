//! Pure, deterministic generation of the sample legacy hospital data into row structs.
//!
//! The reference tables (DEPT, PROVIDER, LAB_TEST_MAP) are fixed in size. Patients are
//! generated one at a time, in PAT_ID order, each from its own ChaCha8 stream seeded from
//! `(seed, PAT_ID)`: the values of patient k never depend on how many patients are
//! generated. Child-row ids (VISIT_ID, DX_ID, RSLT_ID, VS_ID, RX_ID) are dense running
//! counters, so patient k's ids only depend on patients 1..k: a database seeded with N
//! patients is a prefix of one seeded with M > N patients.
//!
//! No floating point is used for stored values: numbers are drawn as integers and
//! formatted, so output is identical on every platform.

use chrono::{Datelike, Duration, NaiveDate, NaiveDateTime};
use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rust_decimal::Decimal;

use super::rows::*;
use super::vocab::{self, Drug, Icd10, LabTest};

/// The seed used when none is given.
pub const DEFAULT_SEED: u64 = 19_960_401;

const STREAM_PROVIDER: u64 = 1;
const STREAM_PATIENT: u64 = 2;

/// Earliest visit timestamp.
fn window_start() -> NaiveDateTime {
    ts(2015, 1, 1, 0, 0, 0)
}
/// Latest visit timestamp.
fn window_end() -> NaiveDateTime {
    ts(2024, 12, 31, 23, 59, 59)
}

fn ts(y: i32, m: u32, d: u32, h: u32, mi: u32, s: u32) -> NaiveDateTime {
    NaiveDate::from_ymd_opt(y, m, d)
        .and_then(|d| d.and_hms_opt(h, mi, s))
        .expect("valid timestamp literal")
}

fn date(y: i32, m: u32, d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, d).expect("valid date literal")
}

fn splitmix64(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// The RNG for one entity: depends only on the seed, the stream and the entity id.
fn rng_for(seed: u64, stream: u64, id: u64) -> ChaCha8Rng {
    ChaCha8Rng::seed_from_u64(splitmix64(splitmix64(seed ^ splitmix64(stream)) ^ id))
}

/// Small helpers over the RNG that never sample `usize` or floats (portable output).
trait Draw {
    fn below(&mut self, n: u32) -> u32;
    fn range(&mut self, lo: i64, hi: i64) -> i64;
    fn per_mille(&mut self, p: u32) -> bool {
        self.below(1000) < p
    }
    fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len() as u32) as usize]
    }
    fn secs_between(&mut self, a: NaiveDateTime, b: NaiveDateTime) -> NaiveDateTime {
        let span = (b - a).num_seconds().max(0);
        a + Duration::seconds(self.range(0, span))
    }
    /// Picks an index by weights.
    fn weighted(&mut self, weights: &[u32]) -> usize {
        let total: u32 = weights.iter().sum();
        let mut r = self.below(total);
        for (i, w) in weights.iter().enumerate() {
            if r < *w {
                return i;
            }
            r -= w;
        }
        weights.len() - 1
    }
}

impl Draw for ChaCha8Rng {
    fn below(&mut self, n: u32) -> u32 {
        self.random_range(0..n)
    }
    fn range(&mut self, lo: i64, hi: i64) -> i64 {
        self.random_range(lo..=hi)
    }
}

fn flag(b: bool) -> String {
    if b { "Y" } else { "N" }.to_owned()
}

fn s(v: impl AsRef<str>) -> String {
    v.as_ref().to_owned()
}

fn d8(d: NaiveDate) -> String {
    d.format("%Y%m%d").to_string()
}

/// Formats a scaled integer with `decimals` places (e.g. 570, 2 → "5.70").
fn fixed(v: i64, decimals: u32) -> String {
    if decimals == 0 {
        return v.to_string();
    }
    let p = 10i64.pow(decimals);
    let sign = if v < 0 { "-" } else { "" };
    let a = v.abs();
    format!("{sign}{}.{:0w$}", a / p, a % p, w = decimals as usize)
}

fn years_between(birth: NaiveDate, at: NaiveDate) -> i64 {
    let mut y = (at.year() - birth.year()) as i64;
    if (at.month(), at.day()) < (birth.month(), birth.day()) {
        y -= 1;
    }
    y
}

/// The MRN of a patient: 'M' + 7 digits, a bijection of PAT_ID (unique below 10^7).
pub fn mrn_for(pat_id: i64) -> String {
    format!("M{:07}", (pat_id * 7919 + 1_234_567).rem_euclid(10_000_000))
}

/// The VISIT_NO of a visit: 'V' + digits.
pub fn visit_no_for(visit_id: i64) -> String {
    format!("V{}", 10_000_000 + visit_id)
}

/// Appends the NPI Luhn check digit (with the 80840 prefix) to 9 digits.
fn npi_with_check(nine: &str) -> String {
    let digits: Vec<u32> = format!("80840{nine}")
        .chars()
        .map(|c| c.to_digit(10).unwrap_or(0))
        .collect();
    let mut sum = 0;
    for (i, d) in digits.iter().rev().enumerate() {
        let mut d = *d;
        if i % 2 == 0 {
            d *= 2;
            if d > 9 {
                d -= 9;
            }
        }
        sum += d;
    }
    format!("{nine}{}", (10 - sum % 10) % 10)
}

/// A fixed department row: (id, code, name, type, parent, active).
type DeptSpec = (
    i64,
    &'static str,
    &'static str,
    &'static str,
    Option<i64>,
    bool,
);

/// Fixed department rows.
const DEPTS: &[DeptSpec] = &[
    (1, "RGH", "RIVERSIDE GENERAL HOSPITAL", "HOSP", None, true),
    (2, "NCMC", "NORTH COUNTY MEDICAL CENTER", "HOSP", None, true),
    (3, "EMERG", "EMERGENCY DEPARTMENT", "DEPT", Some(1), true),
    (4, "IMED", "INTERNAL MEDICINE", "DEPT", Some(1), true),
    (5, "CARD", "CARDIOLOGY", "DEPT", Some(1), true),
    (6, "SURG", "GENERAL SURGERY", "DEPT", Some(1), true),
    (7, "LAB", "CORE LABORATORY", "LAB", Some(1), true),
    (8, "PHARM", "INPATIENT PHARMACY", "PHAR", Some(1), true),
    (9, "FAMMED", "FAMILY MEDICINE CLINIC", "DEPT", Some(2), true),
    (10, "PEDS", "PEDIATRICS", "DEPT", Some(2), true),
    (
        11,
        "OBGYN",
        "OBSTETRICS AND GYNECOLOGY",
        "DEPT",
        Some(2),
        true,
    ),
    (12, "NCER", "NCMC EMERGENCY", "DEPT", Some(2), true),
    (
        13,
        "ONCOL",
        "ONCOLOGY (CLOSED 2009)",
        "DEPT",
        Some(1),
        false,
    ),
];

/// Provider plan: (credential, specialty, department, how many).
const PROVIDER_PLAN: &[(&str, Option<&str>, i64, u32)] = &[
    ("MD", Some("IM"), 4, 6),
    ("DO", Some("FM"), 9, 5),
    ("MD", Some("EM"), 3, 4),
    ("MD", Some("EM"), 12, 2),
    ("MD", Some("CARD"), 5, 3),
    ("MD", Some("SURG"), 6, 3),
    ("MD", Some("PEDS"), 10, 3),
    ("MD", Some("OB"), 11, 2),
    ("NP", Some("FM"), 9, 2),
    ("PA", Some("EM"), 3, 2),
    ("RN", None, 0, 8),
];

/// Per-mille chance of each chronic condition by age band (<18, <45, <65, 65+).
const CHRONIC_RISK: &[(&str, [u32; 4])] = &[
    ("E11.9", [2, 40, 150, 220]),
    ("I10", [5, 80, 350, 600]),
    ("E78.5", [0, 60, 300, 400]),
    ("J45.909", [100, 80, 70, 60]),
    ("N18.3", [0, 5, 40, 120]),
    ("E66.9", [50, 150, 200, 150]),
    ("F32.9", [10, 80, 80, 60]),
    ("F41.1", [20, 80, 60, 40]),
    ("J44.9", [0, 5, 60, 120]),
    ("I25.10", [0, 5, 60, 150]),
    ("I48.91", [0, 3, 30, 100]),
    ("I50.9", [0, 2, 20, 80]),
    ("E03.9", [5, 40, 70, 100]),
    ("K21.9", [10, 80, 120, 120]),
    ("M17.11", [0, 5, 50, 120]),
    ("D64.9", [20, 40, 40, 80]),
];

fn icd(code: impl AsRef<str>) -> &'static Icd10 {
    let code = code.as_ref();
    vocab::ICD10
        .iter()
        .find(|c| c.code == code)
        .expect("ICD-10 code in vocab")
}

fn lab_test(local: &str) -> &'static LabTest {
    vocab::LAB_TESTS
        .iter()
        .find(|t| t.local == local)
        .expect("lab test in vocab")
}

fn drug(rxcui: impl AsRef<str>) -> &'static Drug {
    let rxcui = rxcui.as_ref();
    vocab::DRUGS
        .iter()
        .find(|d| d.rxcui == rxcui)
        .expect("drug in vocab")
}

/// What a visit of the well-known patient is forced to contain.
struct ForcedVisit {
    dx: &'static [&'static str],
    panels: &'static [usize],
    xtest: bool,
    rx: &'static [&'static str],
}

/// What the children of a visit need to know about the patient.
struct PatCtx {
    pat_id: i64,
    birth: NaiveDate,
    sex: &'static str,
    chronic: Vec<&'static str>,
    known: bool,
}

impl PatCtx {
    fn has(&self, code: &str) -> bool {
        self.chronic.contains(&code)
    }
    fn age_at(&self, d: NaiveDate) -> i64 {
        years_between(self.birth, d)
    }
}

/// The deterministic generator. Create one per seeding run and call
/// [`Generator::next_patient`] repeatedly; patients come out in PAT_ID order 1, 2, 3, ...
#[derive(Debug, Clone)]
pub struct Generator {
    seed: u64,
    providers: Vec<ProviderRow>,
    last_pat_id: i64,
    next_visit_id: i64,
    next_dx_id: i64,
    next_rslt_id: i64,
    next_vs_id: i64,
    next_rx_id: i64,
}

impl Generator {
    /// A generator for `seed`, positioned before patient 1.
    pub fn new(seed: u64) -> Self {
        Generator {
            seed,
            providers: build_providers(seed),
            last_pat_id: 0,
            next_visit_id: 1,
            next_dx_id: 1,
            next_rslt_id: 1,
            next_vs_id: 1,
            next_rx_id: 1,
        }
    }

    /// DEPT rows (fixed: 2 hospitals, departments, a lab and a pharmacy; one inactive).
    pub fn departments(&self) -> Vec<DeptRow> {
        DEPTS
            .iter()
            .map(|&(id, cd, nm, typ, parent, active)| DeptRow {
                dept_id: id,
                dept_cd: pad(cd, 6),
                dept_nm: s(nm),
                dept_typ: pad(typ, 4),
                parent_dept_id: parent,
                phone_no: (id % 4 != 3).then(|| format!("(555) 700-{:04}", 1000 + id * 10)),
                active_flg: flag(active),
                last_mod_ts: ts(1998, 7, 1, 8, 0, 0) + Duration::days(id * 211),
            })
            .collect()
    }

    /// PROVIDER rows (fixed count, independent of the number of patients).
    pub fn providers(&self) -> &[ProviderRow] {
        &self.providers
    }

    /// LAB_TEST_MAP rows: every local test except the deliberately unmapped one.
    pub fn lab_test_map(&self) -> Vec<LabTestMapRow> {
        vocab::LAB_TESTS
            .iter()
            .filter_map(|t| {
                t.loinc.map(|(cd, nm, ucum)| LabTestMapRow {
                    local_cd: pad(t.local, 6),
                    loinc_cd: s(cd),
                    loinc_nm: s(nm),
                    ucum_cd: s(ucum),
                })
            })
            .collect()
    }

    fn active_providers(&self, pred: impl Fn(&ProviderRow) -> bool) -> Vec<i64> {
        self.providers
            .iter()
            .filter(|p| p.active_flg == "Y" && pred(p))
            .map(|p| p.prov_id)
            .collect()
    }

    fn physician_for(&self, rng: &mut ChaCha8Rng, dept: Option<i64>) -> Option<i64> {
        let is_prescriber = |p: &ProviderRow| p.cred_cd.as_deref() != Some("RN");
        let mut pool = self.active_providers(|p| is_prescriber(p) && p.dept_id == dept);
        if pool.is_empty() {
            pool = self.active_providers(is_prescriber);
        }
        Some(*rng.pick(&pool))
    }

    fn nurse(&self, rng: &mut ChaCha8Rng) -> i64 {
        let pool = self.active_providers(|p| p.cred_cd.as_deref() == Some("RN"));
        *rng.pick(&pool)
    }

    /// Generates the next patient (PAT_ID = previous + 1) and all of its child rows.
    pub fn next_patient(&mut self) -> PatientRows {
        self.last_pat_id += 1;
        let pat_id = self.last_pat_id;
        let mut rng = rng_for(self.seed, STREAM_PATIENT, pat_id as u64);
        let known = pat_id == 1;

        // --- demographics -------------------------------------------------------------
        let sex: &'static str = if known {
            "M"
        } else {
            ["F", "M", "U"][rng.weighted(&[520, 470, 10])]
        };
        let male_names = sex == "M" || (sex == "U" && rng.per_mille(500));
        let first_list = if male_names {
            vocab::MALE_FIRST
        } else {
            vocab::FEMALE_FIRST
        };
        let mut first_nm = s(rng.pick(first_list));
        let mut last_nm = s(rng.pick(vocab::SURNAMES));
        let mut mid_nm = rng.per_mille(400).then(|| s(rng.pick(first_list)));
        let mut suffix =
            (male_names && rng.per_mille(40)).then(|| s(rng.pick(&["JR", "SR", "III"])));
        let birth_span = (date(2023, 12, 31) - date(1925, 1, 1)).num_days();
        let mut birth = date(1925, 1, 1) + Duration::days(rng.range(0, birth_span));
        if known {
            last_nm = s("CHALMERS");
            first_nm = s("PETER");
            mid_nm = Some(s("JAMES"));
            suffix = None;
            birth = date(1974, 6, 25);
        }
        let age_2020 = years_between(birth, date(2020, 1, 1));
        let band = match age_2020 {
            ..18 => 0,
            18..45 => 1,
            45..65 => 2,
            _ => 3,
        };
        let mut chronic: Vec<&'static str> = CHRONIC_RISK
            .iter()
            .filter(|(_, risk)| rng.per_mille(risk[band]))
            .map(|(code, _)| *code)
            .collect();
        if known {
            chronic = vec!["E11.9", "I10", "E78.5"];
        }
        let age_2024 = years_between(birth, date(2024, 12, 31));
        let deceased = !known
            && rng.per_mille(match age_2024 {
                80.. => 250,
                65..80 => 100,
                _ => 15,
            });
        let ctx = PatCtx {
            pat_id,
            birth,
            sex,
            chronic,
            known,
        };

        // --- visits -------------------------------------------------------------------
        let start =
            window_start().max(birth.and_hms_opt(8, 0, 0).expect("08:00") + Duration::days(1));
        let mut admits: Vec<NaiveDateTime> = if known {
            vec![
                ts(2019, 3, 14, 9, 30, 0),
                ts(2021, 11, 2, 22, 10, 0),
                ts(2024, 12, 30, 18, 45, 0),
            ]
        } else {
            let n = 1 + rng.weighted(&[20, 25, 20, 15, 12, 8]);
            let mut v: Vec<_> = (0..n)
                .map(|_| rng.secs_between(start, window_end()))
                .collect();
            v.sort();
            v
        };
        let last_active = !known && !deceased && rng.per_mille(300);
        if last_active {
            let last = admits.len() - 1;
            let floor = if last > 0 { admits[last - 1] } else { start };
            admits[last] = rng
                .secs_between(ts(2024, 12, 10, 0, 0, 0), ts(2024, 12, 31, 12, 0, 0))
                .max(floor);
        }
        let mut rows = PatientRows {
            patient: PatientRow {
                pat_id,
                last_nm,
                first_nm,
                mid_nm,
                suffix,
                sex_cd: s(sex),
                birth_dt: d8(birth),
                deceased_flg: flag(deceased),
                death_dt: None,
                marital_cd: None,
                lang_cd: None,
                pcp_prov_id: None,
                del_flg: s("N"),
                create_ts: admits[0],
                last_upd_ts: admits[0],
                row_ver: 1,
            },
            idents: vec![],
            phones: vec![],
            addrs: vec![],
            visits: vec![],
            diagnoses: vec![],
            labs: vec![],
            vitals: vec![],
            rx: vec![],
        };
        let n_visits = admits.len();
        for (k, admit) in admits.iter().enumerate() {
            let is_last = k + 1 == n_visits;
            let forced = if known {
                match k {
                    0 => Some(ForcedVisit {
                        dx: &["E11.9", "I10"],
                        panels: &[0, 3],
                        xtest: true,
                        rx: &["861007", "314076"],
                    }),
                    _ => None,
                }
            } else {
                None
            };
            let (typ, stat) = if known {
                [("O", "D"), ("I", "D"), ("E", "A")][k]
            } else {
                let age = ctx.age_at(admit.date());
                let typ = ["O", "E", "I"]
                    [rng.weighted(if age < 1 { &[85, 10, 5] } else { &[60, 25, 15] })];
                let stat = if is_last && last_active {
                    "A"
                } else if typ == "O" && rng.per_mille(50) {
                    "C"
                } else {
                    "D"
                };
                (typ, stat)
            };
            self.visit(
                &mut rng,
                &ctx,
                &mut rows,
                *admit,
                typ,
                stat,
                forced.as_ref(),
            );
        }
        if !known && !ctx.chronic.is_empty() && rng.per_mille(150) {
            self.problem_list_entry(&mut rng, &ctx, &mut rows);
        }

        // --- remaining patient columns ----------------------------------------------------
        let last_event = rows
            .visits
            .iter()
            .map(|v| v.disch_ts.unwrap_or(v.admit_ts))
            .max()
            .unwrap_or(admits[0]);
        let p = &mut rows.patient;
        if deceased && rng.per_mille(700) {
            let death = (last_event + Duration::days(rng.range(1, 400))).min(window_end());
            p.death_dt = Some(d8(death.date()));
        }
        p.marital_cd = if known {
            Some(s("M"))
        } else if age_2024 < 18 {
            rng.per_mille(500).then(|| s("S"))
        } else {
            let w: &[u32] = if age_2024 >= 65 {
                &[45, 10, 12, 23, 10]
            } else {
                &[45, 28, 12, 5, 10]
            };
            [Some("M"), Some("S"), Some("D"), Some("W"), None][rng.weighted(w)].map(s)
        };
        p.lang_cd = if known {
            Some(s("ENG"))
        } else {
            [None, Some("ENG"), Some("SPA"), Some("VIE"), Some("CHI")]
                [rng.weighted(&[55, 30, 10, 3, 2])]
            .map(s)
        };
        let pcps = self.active_providers(|p| {
            matches!(
                p.spec_cd.as_deref().map(str::trim),
                Some("IM" | "FM" | "PEDS")
            )
        });
        p.pcp_prov_id = if known {
            Some(1)
        } else {
            rng.per_mille(700).then(|| *rng.pick(&pcps))
        };
        p.del_flg = flag(pat_id == 2 || (!known && rng.per_mille(20)));
        let reg_floor = ts(1996, 1, 1, 8, 0, 0).max(birth.and_hms_opt(6, 0, 0).expect("06:00"));
        p.create_ts = if known {
            ts(2003, 2, 11, 10, 22, 37)
        } else {
            rng.secs_between(reg_floor, admits[0].max(reg_floor))
        };
        p.last_upd_ts = if known {
            ts(2024, 12, 30, 19, 2, 11)
        } else {
            rng.secs_between(last_event.max(p.create_ts), window_end())
        };
        p.row_ver = if known {
            4
        } else if rng.per_mille(600) {
            1
        } else {
            rng.range(2, 12)
        };

        self.identifiers_and_contacts(&mut rng, &ctx, &mut rows, age_2024);
        if known {
            for d in &mut rows.diagnoses {
                d.del_flg = s("N");
            }
            for l in &mut rows.labs {
                l.del_flg = s("N");
            }
            for v in &mut rows.vitals {
                v.del_flg = s("N");
            }
            for r in &mut rows.rx {
                r.del_flg = s("N");
            }
        }
        rows
    }

    fn identifiers_and_contacts(
        &self,
        rng: &mut ChaCha8Rng,
        ctx: &PatCtx,
        rows: &mut PatientRows,
        age: i64,
    ) {
        let pat_id = ctx.pat_id;
        let known = ctx.known;
        // Addresses first: the driver's licence issuer follows the home state.
        let city = if known {
            &vocab::CITIES[0]
        } else {
            rng.pick(vocab::CITIES)
        };
        let zip = |rng: &mut ChaCha8Rng, prefix: &str| {
            let base = format!("{prefix}{:02}", rng.range(1, 99));
            if rng.per_mille(200) {
                format!("{base}-{:04}", rng.range(1, 9999))
            } else {
                base
            }
        };
        let line2 = |rng: &mut ChaCha8Rng| {
            rng.per_mille(150).then(|| {
                format!(
                    "{} {}",
                    rng.pick(&["APT", "UNIT", "STE", "#"]),
                    rng.range(1, 40)
                )
            })
        };
        let street = |rng: &mut ChaCha8Rng| {
            format!(
                "{} {}{} {}",
                rng.range(1, 9999),
                if rng.per_mille(300) {
                    rng.pick(&["N ", "S ", "E ", "W "])
                } else {
                    ""
                },
                rng.pick(vocab::STREETS),
                rng.pick(vocab::STREET_SUFFIXES)
            )
        };
        let create = rows.patient.create_ts.date();
        let home = if known {
            PatAddrRow {
                pat_id,
                addr_seq: 1,
                addr_typ: s("H"),
                line1: s("1200 W JEFFERSON ST"),
                line2: None,
                city: s("SPRINGFIELD"),
                state_cd: s("IL"),
                zip: s("62702"),
                country_cd: Some(s("USA")),
                eff_dt: Some(date(2010, 4, 1)),
                end_dt: None,
            }
        } else {
            let eff = rng
                .per_mille(400)
                .then(|| create + Duration::days(rng.range(0, 3000)));
            let line1 = street(rng);
            let line2 = line2(rng);
            PatAddrRow {
                pat_id,
                addr_seq: 1,
                addr_typ: s("H"),
                line1,
                line2,
                city: s(city.0),
                state_cd: s(city.1),
                zip: zip(rng, city.2),
                country_cd: rng.per_mille(700).then(|| s("USA")),
                eff_dt: eff,
                end_dt: None,
            }
        };
        let home_eff = home.eff_dt;
        rows.addrs.push(home);
        if !known && rng.per_mille(250) {
            let kind = rng.weighted(&[50, 35, 15]);
            let other = rng.pick(vocab::CITIES);
            let (typ, line1, end) = match kind {
                0 => {
                    let end = home_eff.unwrap_or(create + Duration::days(rng.range(30, 2000)));
                    ("H", street(rng), Some(end))
                }
                1 => ("M", format!("PO BOX {}", rng.range(1, 9999)), None),
                _ => ("W", street(rng), None),
            };
            let (c, st, pfx) = if kind == 1 { city } else { other };
            let line2 = line2(rng);
            rows.addrs.push(PatAddrRow {
                pat_id,
                addr_seq: 2,
                addr_typ: s(typ),
                line1,
                line2,
                city: s(c),
                state_cd: s(st),
                zip: zip(rng, pfx),
                country_cd: rng.per_mille(700).then(|| s("USA")),
                eff_dt: end.and_then(|e| {
                    rng.per_mille(500)
                        .then(|| e - Duration::days(rng.range(200, 4000)))
                }),
                end_dt: end,
            });
        }

        rows.idents.push(PatIdentRow {
            pat_id,
            id_typ: pad("MRN", 4),
            id_val: mrn_for(pat_id),
            assign_auth: Some(s("RGH")),
        });
        if known || rng.per_mille(600) {
            let ssn = if known {
                s("900-12-3456")
            } else {
                format!(
                    "9{:02}-{:02}-{:04}",
                    rng.range(0, 99),
                    rng.range(1, 99),
                    rng.range(1, 9999)
                )
            };
            let auth = (known || rng.per_mille(500)).then(|| s("SSA"));
            rows.idents.push(PatIdentRow {
                pat_id,
                id_typ: pad("SSN", 4),
                id_val: ssn,
                assign_auth: auth,
            });
        }
        if known || (age >= 16 && rng.per_mille(300)) {
            let initial = &rows.patient.last_nm[..1];
            let dl = if known {
                s("C45120374625")
            } else {
                format!("{initial}{:011}", rng.range(0, 99_999_999_999))
            };
            let state = rows.addrs[0].state_cd.clone();
            rows.idents.push(PatIdentRow {
                pat_id,
                id_typ: pad("DL", 4),
                id_val: dl,
                assign_auth: Some(format!("{state} DMV")),
            });
        }

        if known {
            for (seq, typ, no) in [(1, "H", "(555) 201-4477"), (2, "C", "(555) 382-9910")] {
                rows.phones.push(PatPhoneRow {
                    pat_id,
                    seq_no: seq,
                    phone_typ: s(typ),
                    phone_no: s(no),
                });
            }
        } else {
            let n = rng.weighted(&[10, 40, 35, 15]);
            let mut types = if rng.per_mille(700) {
                vec!["H", "C", "W"]
            } else {
                vec!["C", "H", "W"]
            };
            if rng.per_mille(300) {
                types.swap(1, 2);
            }
            for (k, typ) in types.iter().take(n).enumerate() {
                let no = format!("(555) {}-{:04}", rng.range(200, 999), rng.range(0, 9999));
                rows.phones.push(PatPhoneRow {
                    pat_id,
                    seq_no: k as i64 + 1,
                    phone_typ: s(typ),
                    phone_no: no,
                });
            }
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn visit(
        &mut self,
        rng: &mut ChaCha8Rng,
        ctx: &PatCtx,
        rows: &mut PatientRows,
        admit: NaiveDateTime,
        typ: &str,
        stat: &str,
        forced: Option<&ForcedVisit>,
    ) {
        let visit_id = self.next_visit_id;
        self.next_visit_id += 1;
        let age = ctx.age_at(admit.date());
        let dept = match typ {
            "E" => *rng.pick(&[3, 3, 12]),
            "I" => *rng.pick(&[4, 4, 5, 6]),
            _ if age < 18 => *rng.pick(&[10, 10, 9]),
            _ if ctx.sex == "F" && (18..50).contains(&age) && rng.per_mille(200) => 11,
            _ => *rng.pick(&[9, 9, 4, 5]),
        };
        let dept = if ctx.known {
            Some([4, 5, 3][rows.visits.len()])
        } else {
            (!rng.per_mille(50)).then_some(dept)
        };
        let attend = if ctx.known {
            Some(if rows.visits.is_empty() {
                1
            } else {
                self.physician_for(rng, dept).unwrap_or(1)
            })
        } else if rng.per_mille(920) {
            self.physician_for(rng, dept)
        } else {
            None
        };
        let disch = match stat {
            "D" => Some(
                admit
                    + Duration::seconds(match typ {
                        "O" => rng.range(15 * 60, 120 * 60),
                        "E" => rng.range(2 * 3600, 12 * 3600),
                        _ => rng.range(86_400, 10 * 86_400),
                    }),
            ),
            _ => None,
        };
        let reason = if ctx.known {
            Some(s(["F/U DM", "CHEST PAIN", "SOB"][rows.visits.len()]))
        } else {
            rng.per_mille(750)
                .then(|| s(rng.pick(vocab::ADMIT_REASONS)))
        };
        let last_upd = disch.unwrap_or(admit) + Duration::seconds(rng.range(60, 72 * 3600));
        rows.visits.push(VisitRow {
            visit_id,
            visit_no: visit_no_for(visit_id),
            pat_id: ctx.pat_id,
            visit_typ: s(typ),
            visit_stat: s(stat),
            admit_ts: admit,
            disch_ts: disch,
            attend_prov_id: attend,
            dept_id: dept,
            admit_reason: reason,
            del_flg: flag(!ctx.known && rng.per_mille(20)),
            last_upd_ts: last_upd,
        });
        if stat == "C" {
            return;
        }
        let v = VisitInfo {
            visit_id,
            typ,
            stat,
            admit,
            disch,
            attend,
        };
        self.diagnoses(rng, ctx, rows, &v, forced);
        self.labs(rng, ctx, rows, &v, forced);
        self.vitals(rng, ctx, rows, &v, forced.is_some());
        self.orders(rng, ctx, rows, &v, forced);
    }

    fn dx_row(
        &mut self,
        rng: &mut ChaCha8Rng,
        ctx: &PatCtx,
        code: &Icd10,
        typ: &str,
        visit: Option<&VisitInfo>,
        when: NaiveDateTime,
    ) -> DiagnosisRow {
        let dx_id = self.next_dx_id;
        self.next_dx_id += 1;
        let day = when.date();
        let (clin, onset, resolved) = if code.chronic {
            let clin = if ctx.known || rng.per_mille(850) {
                "A"
            } else {
                "I"
            };
            let onset = rng.per_mille(500).then(|| {
                let lo = ctx.birth + Duration::days(365 * 18).min(day - ctx.birth);
                lo + Duration::days(rng.range(0, (day - lo).num_days().max(0)))
            });
            (clin, onset, None)
        } else if code.code.starts_with('Z') {
            ("R", Some(day), Some(day))
        } else {
            let onset = rng
                .per_mille(700)
                .then(|| day - Duration::days(rng.range(0, 7)));
            if rng.per_mille(650) {
                ("R", onset, Some(day + Duration::days(rng.range(3, 45))))
            } else {
                ("A", onset, None)
            }
        };
        DiagnosisRow {
            dx_id,
            pat_id: ctx.pat_id,
            visit_id: visit.map(|v| v.visit_id),
            icd10_cd: pad(code.code, 8),
            dx_desc: s(code.desc),
            dx_typ: s(typ),
            clin_stat: s(clin),
            onset_dt: onset,
            resolved_dt: resolved,
            recorded_ts: when + Duration::seconds(rng.range(300, 4 * 3600)),
            recorded_by: visit
                .and_then(|v| v.attend)
                .filter(|_| ctx.known || rng.per_mille(900)),
            del_flg: flag(rng.per_mille(20)),
        }
    }

    fn diagnoses(
        &mut self,
        rng: &mut ChaCha8Rng,
        ctx: &PatCtx,
        rows: &mut PatientRows,
        v: &VisitInfo,
        forced: Option<&ForcedVisit>,
    ) {
        let codes: Vec<&'static Icd10> = if let Some(f) = forced {
            f.dx.iter().map(|c| icd(c)).collect()
        } else {
            let n = rng.weighted(&[10, 30, 30, 20, 10]);
            let age = ctx.age_at(v.admit.date());
            let acute: Vec<&'static Icd10> = vocab::ICD10
                .iter()
                .filter(|c| !c.chronic)
                .filter(|c| match c.code {
                    "Z00.00" => age >= 18 && v.typ == "O",
                    "Z00.129" => age < 18 && v.typ == "O",
                    "Z23" => v.typ == "O",
                    _ => true,
                })
                .collect();
            let mut out: Vec<&'static Icd10> = Vec::new();
            for _ in 0..n {
                let c = if !ctx.chronic.is_empty() && rng.per_mille(500) {
                    icd(rng.pick(&ctx.chronic))
                } else {
                    *rng.pick(&acute)
                };
                if !out.iter().any(|o| o.code == c.code) {
                    out.push(c);
                }
            }
            out
        };
        let admitting = v.typ == "I" && !codes.is_empty() && rng.per_mille(300);
        for (k, code) in codes.into_iter().enumerate() {
            let typ = match k {
                0 if admitting => "A",
                0 => "P",
                1 if admitting => "P",
                _ => "S",
            };
            let row = self.dx_row(rng, ctx, code, typ, Some(v), v.admit);
            rows.diagnoses.push(row);
        }
    }

    fn problem_list_entry(&mut self, rng: &mut ChaCha8Rng, ctx: &PatCtx, rows: &mut PatientRows) {
        let code = icd(rng.pick(&ctx.chronic));
        let floor = rows.patient.create_ts.max(window_start());
        let when = rng.secs_between(floor, window_end().max(floor));
        let row = self.dx_row(rng, ctx, code, "S", None, when);
        rows.diagnoses.push(row);
    }

    fn labs(
        &mut self,
        rng: &mut ChaCha8Rng,
        ctx: &PatCtx,
        rows: &mut PatientRows,
        v: &VisitInfo,
        forced: Option<&ForcedVisit>,
    ) {
        let acute = v.typ != "O";
        let age = ctx.age_at(v.admit.date());
        let mut draws: Vec<(usize, i64)> = Vec::new(); // (panel, day offset)
        let xtest;
        if let Some(f) = forced {
            draws.extend(f.panels.iter().map(|p| (*p, 0)));
            xtest = f.xtest;
        } else {
            let chances: [u32; 5] = if acute {
                [850, 800, 100, if ctx.has("E11.9") { 200 } else { 20 }, 30]
            } else {
                [
                    300,
                    200,
                    if age >= 18 { 250 } else { 20 },
                    if ctx.has("E11.9") { 600 } else { 50 },
                    if ctx.has("E03.9") { 600 } else { 80 },
                ]
            };
            for (panel, chance) in chances.iter().enumerate() {
                if rng.per_mille(*chance) {
                    draws.push((panel, 0));
                }
            }
            if v.typ == "I" {
                let days = v.disch.map_or(1, |d| (d - v.admit).num_days()).clamp(0, 3);
                for day in 1..=days {
                    if rng.per_mille(500) {
                        draws.push((0, day));
                    }
                    if rng.per_mille(400) {
                        draws.push((1, day));
                    }
                }
            }
            xtest = rng.per_mille(15);
        }
        let mut tests: Vec<(&'static LabTest, i64)> = Vec::new();
        for (panel, day) in draws {
            tests.extend(vocab::PANELS[panel].iter().map(|t| (lab_test(t), day)));
        }
        if xtest {
            tests.push((lab_test(vocab::UNMAPPED_LAB), 0));
        }
        let outside = !ctx.known && rng.per_mille(30);
        let base_collect = v.admit + Duration::seconds(rng.range(10 * 60, 120 * 60));
        for (test, day) in tests {
            let rslt_id = self.next_rslt_id;
            self.next_rslt_id += 1;
            let collect = base_collect + Duration::days(day);
            let row = self.lab_row(rng, ctx, test, v, rslt_id, collect, outside);
            rows.labs.push(row);
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn lab_row(
        &self,
        rng: &mut ChaCha8Rng,
        ctx: &PatCtx,
        test: &LabTest,
        v: &VisitInfo,
        rslt_id: i64,
        collect: NaiveDateTime,
        outside: bool,
    ) -> LabResultRow {
        let mut center = test.center;
        match test.local {
            "GLU" if ctx.has("E11.9") => center += 60,
            "HGBA1C" if ctx.has("E11.9") => center += 180,
            "CREAT" if ctx.has("N18.3") => center += 80,
            "BUN" if ctx.has("N18.3") => center += 15,
            "HGB" if ctx.has("D64.9") => center -= 25,
            "HGB" if ctx.sex == "F" => center -= 15,
            "LDL" | "CHOL" if ctx.has("E78.5") => center += 40,
            _ => {}
        }
        let sp = test.spread;
        let value = (center + rng.range(-sp, sp) + rng.range(-sp, sp) / 2).max(1);
        let stat = if ctx.known {
            "F"
        } else if v.stat == "A" {
            ["P", "F"][rng.weighted(&[50, 50])]
        } else {
            ["F", "C", "P", "X"][rng.weighted(&[920, 30, 20, 30])]
        };
        let (text, abn) = if stat == "X" {
            (s("TNP"), None)
        } else if !ctx.known && test.local == "K" && rng.per_mille(15) {
            (s("HEMOLYZED"), None)
        } else if !ctx.known && test.local == "TSH" && rng.per_mille(20) {
            (s("<0.01"), Some(s("L")))
        } else {
            let abn = if test.ref_low.is_some_and(|lo| value < lo) {
                "L"
            } else if test.ref_high.is_some_and(|hi| value > hi) {
                "H"
            } else {
                "N"
            };
            (
                fixed(value, test.decimals),
                (ctx.known || !rng.per_mille(80)).then(|| s(abn)),
            )
        };
        let result_ts = match stat {
            "X" => None,
            "P" if rng.per_mille(500) => None,
            _ => Some(collect + Duration::seconds(rng.range(20 * 60, 300 * 60))),
        };
        LabResultRow {
            rslt_id,
            pat_id: ctx.pat_id,
            visit_id: (!outside).then_some(v.visit_id),
            test_cd: pad(test.local, 6),
            rslt_val: text,
            rslt_units: s(test.legacy_units),
            ref_low: test.ref_low.map(|x| fixed(x, test.decimals)),
            ref_high: test.ref_high.map(|x| fixed(x, test.decimals)),
            abn_flg: abn,
            rslt_stat: s(stat),
            collect_ts: collect,
            result_ts,
            order_prov_id: v.attend.filter(|_| ctx.known || rng.per_mille(900)),
            del_flg: flag(rng.per_mille(20)),
        }
    }

    fn vitals(
        &mut self,
        rng: &mut ChaCha8Rng,
        ctx: &PatCtx,
        rows: &mut PatientRows,
        v: &VisitInfo,
        full: bool,
    ) {
        let n = match v.typ {
            "O" => 1,
            "E" => 1 + rng.range(0, 1),
            _ => 1 + rng.range(0, 2),
        };
        let age = ctx.age_at(v.admit.date());
        for k in 0..n {
            let vs_id = self.next_vs_id;
            self.next_vs_id += 1;
            let taken =
                v.admit + Duration::seconds(rng.range(5 * 60, 60 * 60)) + Duration::hours(8 * k);
            let hr = (full || rng.per_mille(850)).then(|| {
                if age < 12 {
                    rng.range(80, 130)
                } else {
                    rng.range(55, 105)
                }
            });
            let bp = (full || rng.per_mille(800)).then(|| {
                let bump = if ctx.has("I10") { 15 } else { 0 };
                (rng.range(95, 150) + bump, rng.range(55, 92) + bump / 2)
            });
            let temp = (full || rng.per_mille(750)).then(|| {
                let tenths = if rng.per_mille(50) {
                    rng.range(1006, 1035)
                } else {
                    rng.range(970, 1005)
                };
                Decimal::new(tenths, 1)
            });
            let wt = (full || rng.per_mille(700)).then(|| {
                let tenths = match age {
                    0 => rng.range(30, 100),
                    1..18 => 100 + age * 30 + rng.range(-40, 80),
                    _ => rng.range(500, 1200) + if ctx.has("E66.9") { 250 } else { 0 },
                };
                Decimal::new(tenths, 1)
            });
            rows.vitals.push(VitalsRow {
                vs_id,
                pat_id: ctx.pat_id,
                visit_id: Some(v.visit_id),
                taken_ts: taken,
                hr,
                bp_sys: bp.map(|b| b.0),
                bp_dia: bp.map(|b| b.1),
                temp_f: temp,
                wt_kg: wt,
                entered_by: (full || rng.per_mille(850)).then(|| self.nurse(rng)),
                del_flg: flag(rng.per_mille(20)),
            });
        }
    }

    fn orders(
        &mut self,
        rng: &mut ChaCha8Rng,
        ctx: &PatCtx,
        rows: &mut PatientRows,
        v: &VisitInfo,
        forced: Option<&ForcedVisit>,
    ) {
        let mut drugs: Vec<&'static Drug> = Vec::new();
        if let Some(f) = forced {
            drugs.extend(f.rx.iter().map(|c| drug(c)));
        } else {
            for code in &ctx.chronic {
                let options: Vec<&'static Drug> = vocab::DRUGS
                    .iter()
                    .filter(|d| d.for_dx == Some(code))
                    .collect();
                if !options.is_empty() && rng.per_mille(250) {
                    drugs.push(*rng.pick(&options));
                }
            }
            if ctx.has("I25.10") && rng.per_mille(150) {
                drugs.push(drug(if rng.per_mille(500) {
                    "309362"
                } else {
                    "243670"
                }));
            }
            if rng.per_mille(300) {
                let pool: &[&str] = if v.typ == "I" {
                    &["1736854", "1659149", "854235", "313782"]
                } else {
                    &["308182", "310965", "313782", "849574"]
                };
                drugs.push(drug(rng.pick(pool)));
            }
            drugs.truncate(3);
        }
        for d in drugs {
            let rx_id = self.next_rx_id;
            self.next_rx_id += 1;
            let order_ts = v.admit + Duration::seconds(rng.range(10 * 60, 180 * 60));
            let stat = if ctx.known || v.stat == "A" {
                "A"
            } else if d.chronic {
                ["A", "D", "C", "X"][rng.weighted(&[55, 30, 10, 5])]
            } else {
                ["C", "D", "X", "A"][rng.weighted(&[80, 10, 5, 5])]
            };
            let start = (ctx.known || rng.per_mille(900)).then(|| order_ts.date());
            let stop = match stat {
                "D" | "C" => {
                    let days = if d.chronic {
                        rng.range(30, 720)
                    } else {
                        rng.range(5, 14)
                    };
                    Some(order_ts.date() + Duration::days(days))
                }
                _ => None,
            };
            let structured = ctx.known || rng.per_mille(900);
            let last_upd = match stop {
                Some(stop) => {
                    stop.and_hms_opt(0, 0, 0).expect("midnight")
                        + Duration::seconds(rng.range(3600, 86_000))
                }
                None => order_ts + Duration::seconds(rng.range(60, 3600)),
            };
            rows.rx.push(RxOrderRow {
                rx_id,
                pat_id: ctx.pat_id,
                visit_id: Some(v.visit_id),
                rxnorm_cd: s(d.rxcui),
                drug_nm: s(d.name),
                sig_txt: (ctx.known || rng.per_mille(900)).then(|| s(d.sig)),
                dose_qty: structured.then(|| Decimal::new(d.dose_hundredths, 2)),
                dose_unit: structured.then(|| s(d.dose_unit)),
                route_cd: structured.then(|| s(d.route)),
                freq_cd: structured.then(|| s(d.freq)),
                start_dt: start,
                stop_dt: stop,
                order_stat: s(stat),
                order_ts,
                presc_prov_id: v.attend.filter(|_| ctx.known || rng.per_mille(900)),
                del_flg: flag(rng.per_mille(20)),
                last_upd_ts: last_upd,
            });
        }
    }
}

/// What the children of a visit need to know about it.
struct VisitInfo<'a> {
    visit_id: i64,
    typ: &'a str,
    stat: &'a str,
    admit: NaiveDateTime,
    disch: Option<NaiveDateTime>,
    attend: Option<i64>,
}

fn build_providers(seed: u64) -> Vec<ProviderRow> {
    let mut out = Vec::new();
    let mut prov_id = 0i64;
    for &(cred, spec, dept, count) in PROVIDER_PLAN {
        for _ in 0..count {
            prov_id += 1;
            let mut rng = rng_for(seed, STREAM_PROVIDER, prov_id as u64);
            let female = rng.per_mille(if cred == "RN" { 850 } else { 450 });
            let first = rng.pick(if female {
                vocab::FEMALE_FIRST
            } else {
                vocab::MALE_FIRST
            });
            let last = rng.pick(vocab::SURNAMES);
            let mid = rng
                .per_mille(700)
                .then(|| s(&rng.pick(vocab::MALE_FIRST)[..1]));
            let nine = format!("1{:08}", rng.range(0, 99_999_999));
            let npi = (cred != "RN" || rng.per_mille(500)).then(|| npi_with_check(&nine));
            let dept_id = if dept == 0 {
                *rng.pick(&[3, 4, 5, 6, 10, 12])
            } else {
                dept
            };
            let mut row = ProviderRow {
                prov_id,
                npi,
                last_nm: s(last),
                first_nm: s(first),
                mid_init: mid,
                cred_cd: Some(s(cred)),
                spec_cd: spec.map(|sp| pad(sp, 4)),
                dept_id: (!rng.per_mille(50)).then_some(dept_id),
                gender: s(if female { "F" } else { "M" }),
                active_flg: flag(prov_id == 1 || !rng.per_mille(80)),
                phone_no: rng
                    .per_mille(600)
                    .then(|| format!("(555) 700-{:04}", rng.range(2000, 2999))),
                last_mod_ts: ts(2001, 1, 1, 7, 0, 0)
                    + Duration::seconds(rng.range(0, 20 * 365 * 86_400)),
            };
            if prov_id == 1 {
                row.npi = Some(s("1234567893"));
                row.last_nm = s("WELBY");
                row.first_nm = s("MARCUS");
                row.mid_init = Some(s("A"));
                row.gender = s("M");
                row.dept_id = Some(4);
                row.phone_no = Some(s("(555) 700-2001"));
            }
            if prov_id == 2 {
                row.cred_cd = None; // legacy rows without credential
            }
            out.push(row);
        }
    }
    out
}

#[cfg(test)]
mod tests;
