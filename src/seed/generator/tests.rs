//! Unit tests of the pure generator (no database).

use super::*;
use std::collections::HashSet;

fn patients(seed: u64, n: usize) -> Vec<PatientRows> {
    let mut g = Generator::new(seed);
    (0..n).map(|_| g.next_patient()).collect()
}

fn share(hits: usize, total: usize) -> f64 {
    hits as f64 / total as f64
}

#[test]
fn same_seed_same_rows_and_prefix_stability() {
    let a = patients(DEFAULT_SEED, 60);
    let b = patients(DEFAULT_SEED, 60);
    assert_eq!(a, b);
    let short = patients(DEFAULT_SEED, 25);
    assert_eq!(&a[..25], &short[..]);
    let other = patients(DEFAULT_SEED + 1, 60);
    assert_ne!(a[10..], other[10..]);
    assert_eq!(Generator::new(7).providers(), Generator::new(7).providers());
}

#[test]
fn ids_are_dense_and_in_order() {
    let all = patients(DEFAULT_SEED, 200);
    let mut expect = (1i64, 1i64, 1i64, 1i64, 1i64);
    for (k, p) in all.iter().enumerate() {
        assert_eq!(p.patient.pat_id, k as i64 + 1);
        for v in &p.visits {
            assert_eq!(v.visit_id, expect.0);
            expect.0 += 1;
        }
        for d in &p.diagnoses {
            assert_eq!(d.dx_id, expect.1);
            expect.1 += 1;
        }
        for l in &p.labs {
            assert_eq!(l.rslt_id, expect.2);
            expect.2 += 1;
        }
        for v in &p.vitals {
            assert_eq!(v.vs_id, expect.3);
            expect.3 += 1;
        }
        for r in &p.rx {
            assert_eq!(r.rx_id, expect.4);
            expect.4 += 1;
        }
    }
}

#[test]
fn distributions_are_sane() {
    let all = patients(DEFAULT_SEED, 3000);
    let n = all.len();
    let deleted = all.iter().filter(|p| p.patient.del_flg == "Y").count();
    assert!(
        (0.005..0.05).contains(&share(deleted, n)),
        "deleted {deleted}"
    );
    let females = all.iter().filter(|p| p.patient.sex_cd == "F").count();
    assert!((0.45..0.6).contains(&share(females, n)));
    let mid = all.iter().filter(|p| p.patient.mid_nm.is_none()).count();
    assert!((0.45..0.75).contains(&share(mid, n)));
    let ssn = all
        .iter()
        .filter(|p| p.idents.iter().any(|i| i.id_typ == "SSN "))
        .count();
    assert!((0.5..0.7).contains(&share(ssn, n)));
    let dl = all
        .iter()
        .filter(|p| p.idents.iter().any(|i| i.id_typ == "DL  "))
        .count();
    assert!((0.15..0.35).contains(&share(dl, n)));
    let mrns: HashSet<_> = all
        .iter()
        .flat_map(|p| p.idents.iter().filter(|i| i.id_typ == "MRN "))
        .map(|i| i.id_val.clone())
        .collect();
    assert_eq!(mrns.len(), n, "every patient has one unique MRN");
    for p in &all {
        assert!((1..=6).contains(&p.visits.len()));
        assert!(p.phones.len() <= 3);
        assert!((1..=2).contains(&p.addrs.len()));
        let birth = NaiveDate::parse_from_str(&p.patient.birth_dt, "%Y%m%d").unwrap();
        for v in &p.visits {
            assert!(v.admit_ts.date() > birth);
            assert_eq!(v.disch_ts.is_none(), v.visit_stat != "D", "{v:?}");
            if let Some(d) = v.disch_ts {
                assert!(d > v.admit_ts);
            }
        }
        if let Some(d) = &p.patient.death_dt {
            assert_eq!(p.patient.deceased_flg, "Y");
            assert!(NaiveDate::parse_from_str(d, "%Y%m%d").unwrap() >= birth);
        }
        for d in &p.diagnoses {
            assert_eq!(d.resolved_dt.is_some(), d.clin_stat == "R");
        }
    }
    let vitals: Vec<&VitalsRow> = all.iter().flat_map(|p| &p.vitals).collect();
    let nv = vitals.len();
    for (name, nulls) in [
        ("HR", vitals.iter().filter(|v| v.hr.is_none()).count()),
        ("BP", vitals.iter().filter(|v| v.bp_sys.is_none()).count()),
        ("TEMP", vitals.iter().filter(|v| v.temp_f.is_none()).count()),
        ("WT", vitals.iter().filter(|v| v.wt_kg.is_none()).count()),
    ] {
        assert!(
            (0.08..0.35).contains(&share(nulls, nv)),
            "{name} nulls {nulls}/{nv}"
        );
    }
    assert!(
        vitals
            .iter()
            .all(|v| v.bp_sys.is_some() == v.bp_dia.is_some())
    );
    let labs: Vec<&LabResultRow> = all.iter().flat_map(|p| &p.labs).collect();
    assert!(labs.len() > 10 * n, "labs {}", labs.len());
    let non_numeric = labs
        .iter()
        .filter(|l| l.rslt_val.parse::<f64>().is_err())
        .count();
    assert!(non_numeric > 0 && share(non_numeric, labs.len()) < 0.06);
    for del in [
        share(labs.iter().filter(|l| l.del_flg == "Y").count(), labs.len()),
        share(vitals.iter().filter(|l| l.del_flg == "Y").count(), nv),
    ] {
        assert!((0.01..0.04).contains(&del));
    }
}

#[test]
fn every_code_comes_from_its_table() {
    let all = patients(DEFAULT_SEED, 500);
    let icd: HashSet<&str> = vocab::ICD10.iter().map(|c| c.code).collect();
    let labs: HashSet<&str> = vocab::LAB_TESTS.iter().map(|t| t.local).collect();
    let drugs: HashSet<&str> = vocab::DRUGS.iter().map(|d| d.rxcui).collect();
    for p in &all {
        for d in &p.diagnoses {
            assert_eq!(d.icd10_cd.len(), 8);
            assert!(icd.contains(d.icd10_cd.trim_end()), "{}", d.icd10_cd);
            assert_eq!(d.dx_desc, icd_desc(d.icd10_cd.trim_end()));
        }
        for l in &p.labs {
            assert_eq!(l.test_cd.len(), 6);
            assert!(labs.contains(l.test_cd.trim_end()));
        }
        for r in &p.rx {
            assert!(drugs.contains(r.rxnorm_cd.as_str()));
        }
    }
    let unmapped = all
        .iter()
        .flat_map(|p| &p.labs)
        .filter(|l| l.test_cd.trim_end() == vocab::UNMAPPED_LAB)
        .count();
    assert!(unmapped > 0);
    let g = Generator::new(DEFAULT_SEED);
    let map = g.lab_test_map();
    assert_eq!(map.len(), vocab::LAB_TESTS.len() - 1);
    for m in &map {
        assert_eq!(m.local_cd.len(), 6);
        assert_ne!(m.local_cd.trim_end(), vocab::UNMAPPED_LAB);
        let (num, check) = m.loinc_cd.split_once('-').expect("LOINC has a check digit");
        assert!(num.bytes().all(|b| b.is_ascii_digit()) && check.len() == 1);
        assert_eq!(
            loinc_check_digit(num),
            check.parse::<u32>().unwrap(),
            "{}",
            m.loinc_cd
        );
    }
    for d in vocab::DRUGS {
        assert!(d.rxcui.bytes().all(|b| b.is_ascii_digit()));
        assert!(d.route.len() <= 4 && d.freq.len() <= 6 && d.dose_unit.len() <= 10);
    }
    for c in vocab::ICD10 {
        assert!(c.code.len() <= 8 && c.desc.len() <= 120);
    }
}

fn icd_desc(code: &str) -> &'static str {
    icd(code).desc
}

/// LOINC check digit (mod 10, as published by Regenstrief).
fn loinc_check_digit(num: &str) -> u32 {
    let digits: Vec<u32> = num.bytes().map(|b| u32::from(b - b'0')).collect();
    let mut sum = 0;
    for (i, d) in digits.iter().rev().enumerate() {
        if i % 2 == 0 {
            let x = d * 2;
            sum += x / 10 + x % 10;
        } else {
            sum += d;
        }
    }
    (10 - sum % 10) % 10
}

#[test]
fn providers_and_departments() {
    let g = Generator::new(DEFAULT_SEED);
    let provs = g.providers();
    assert_eq!(provs.len(), 40);
    assert_eq!(npi_with_check("123456789"), "1234567893");
    for p in provs {
        if let Some(npi) = &p.npi {
            assert_eq!(npi.len(), 10);
            assert_eq!(&npi_with_check(&npi[..9]), npi);
        }
    }
    let depts = g.departments();
    assert_eq!(depts.iter().filter(|d| d.dept_typ == "HOSP").count(), 2);
    assert!(
        depts
            .iter()
            .all(|d| d.dept_cd.len() == 6 && d.dept_typ.len() == 4)
    );
}

#[test]
fn well_known_patients() {
    let all = patients(123, 2);
    let p1 = &all[0];
    assert_eq!(p1.patient.last_nm, "CHALMERS");
    assert_eq!(p1.idents[0].id_val, mrn_for(1));
    assert_eq!(mrn_for(1), "M1242486");
    assert_eq!(p1.phones.len(), 2);
    assert_eq!(p1.addrs.len(), 1);
    assert_eq!(p1.labs[0].test_cd, "GLU   ");
    assert_eq!(p1.labs[6].test_cd, "XTEST ");
    assert_eq!(p1.rx[0].rxnorm_cd, "861007");
    assert!(p1.labs.iter().all(|l| l.del_flg == "N"));
    assert_eq!(all[1].patient.del_flg, "Y");
    assert_eq!(fixed(570, 2), "5.70");
    assert_eq!(fixed(9, 2), "0.09");
    assert_eq!(fixed(98, 0), "98");
}
