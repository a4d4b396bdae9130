#!/usr/bin/env python3
"""Generates the clinic sample database scripts in tests/fixtures/clinic/.

The clinic sample is a small EHR-style schema of MySQL heritage (modelled on an open-source
EHR: lower-case snake_case names, `tinyint(1)` flags, 0 for "no reference", zero dates and
blank strings for "no value", code systems as a prefix inside the code text). It is the
second sample of the repository, with a shape unlike the hospital sample (`migrations/`);
see tests/fixtures/clinic/README.md for the warts it carries and where.

One neutral description of the tables and rows below is rendered as one DDL + data script per
database: `sqlite.sql`, `postgres.sql`, `mysql.sql`. The data is deterministic (formulas of
the row number, no randomness) and identical in meaning on every backend, except what a
backend cannot store: PostgreSQL has no zero dates, so its DATE/TIMESTAMP columns hold NULL
where the others hold `0000-00-00`.

    python3 tools/clinic_fixture.py          # (re)writes the three scripts
    python3 tools/clinic_fixture.py --check  # exits 1 when a committed script is stale
"""

import datetime as dt
import os
import sys

OUT_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "fixtures", "clinic")
DIALECTS = ("sqlite", "postgres", "mysql")


class Zero:
    """A MySQL zero date ('0000-00-00') or zero date-time ('0000-00-00 00:00:00')."""

    def __init__(self, text):
        self.text = text


ZERO_DATE = Zero("0000-00-00")
ZERO_DATETIME = Zero("0000-00-00 00:00:00")

# Column kinds -> (SQLite, PostgreSQL, MariaDB) types. `bool` is MySQL `tinyint(1)` (which a
# migration tool such as pgloader turns into BOOLEAN); `tinyint` is `tinyint(4)`, a small
# integer used as a flag.
TYPES = {
    "pk": ("INTEGER NOT NULL PRIMARY KEY", "INTEGER NOT NULL PRIMARY KEY", "INT(11) NOT NULL AUTO_INCREMENT PRIMARY KEY"),
    "int": ("INTEGER", "INTEGER", "INT(11)"),
    "bool": ("INTEGER", "BOOLEAN", "TINYINT(1)"),
    "tinyint": ("INTEGER", "SMALLINT", "TINYINT(4)"),
    "date": ("DATE", "DATE", "DATE"),
    "datetime": ("DATETIME", "TIMESTAMP", "DATETIME"),
    "float": ("REAL", "REAL", "FLOAT(5,2)"),
    "text": ("TEXT", "TEXT", "TEXT"),
}


def sql_type(kind, dialect):
    if kind.startswith("varchar("):
        return kind.upper()
    return TYPES[kind][DIALECTS.index(dialect)]


RESERVED = {"user", "range"}


def ident(name, dialect):
    if name.lower() not in RESERVED:
        return name
    return f"`{name}`" if dialect == "mysql" else f'"{name}"'


def literal(value, kind, dialect):
    if value is None:
        return "NULL"
    if isinstance(value, Zero):
        assert kind in ("date", "datetime"), kind
        return "NULL" if dialect == "postgres" else f"'{value.text}'"
    if kind == "bool":
        assert value in (0, 1), value
        if dialect == "postgres":
            return "TRUE" if value else "FALSE"
        return str(value)
    if isinstance(value, bool):
        raise TypeError("use 1/0 for flags")
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return f"{value:.2f}"
    if isinstance(value, dt.datetime):
        return f"'{value:%Y-%m-%d %H:%M:%S}'"
    if isinstance(value, dt.date):
        return f"'{value:%Y-%m-%d}'"
    assert isinstance(value, str), value
    assert "\\" not in value and "\n" not in value, value
    return "'" + value.replace("'", "''") + "'"


# ---------------------------------------------------------------------------------------------
# Tables
# ---------------------------------------------------------------------------------------------

TABLES = {}  # name -> (columns [(name, kind, nullable)], indexes [(name, columns, unique)])
ROWS = {}  # name -> [dict]


def table(name, columns, indexes=()):
    TABLES[name] = ([(c[0], c[1], len(c) < 3 or c[2]) for c in columns], list(indexes))
    ROWS[name] = []


def row(table_name, /, **values):
    cols = [c[0] for c in TABLES[table_name][0]]
    assert set(values) == set(cols), (table_name, set(cols) ^ set(values))
    ROWS[table_name].append(values)


table("facility", [
    ("id", "pk"),
    ("name", "varchar(255)", False),
    ("phone", "varchar(30)"),
    ("street", "varchar(255)"),
    ("city", "varchar(255)"),
    ("state", "varchar(50)"),
    ("postal_code", "varchar(11)"),
    ("facility_npi", "varchar(15)"),
    ("service_location", "bool", False),
    ("billing_location", "bool", False),
    ("inactive", "bool", False),
])

table("users", [
    ("id", "pk"),
    ("username", "varchar(255)", False),
    ("fname", "varchar(255)"),
    ("mname", "varchar(255)"),
    ("lname", "varchar(255)"),
    ("npi", "varchar(15)"),
    ("specialty", "varchar(255)"),
    ("phone", "varchar(30)"),
    ("email", "varchar(255)"),
    ("facility_id", "int", False),
    ("authorized", "tinyint"),
    ("active", "bool", False),
], [("users_username", ["username"], True)])

table("patient_data", [
    ("id", "pk"),
    ("pid", "int", False),
    ("pubpid", "varchar(255)", False),
    ("title", "varchar(255)", False),
    ("fname", "varchar(255)", False),
    ("mname", "varchar(255)", False),
    ("lname", "varchar(255)", False),
    ("DOB", "date"),
    ("sex", "varchar(255)", False),
    ("status", "varchar(255)", False),
    ("street", "varchar(255)", False),
    ("city", "varchar(255)", False),
    ("state", "varchar(255)", False),
    ("postal_code", "varchar(255)", False),
    ("phone_home", "varchar(255)"),
    ("phone_cell", "varchar(255)"),
    ("email", "varchar(255)"),
    ("providerID", "int"),
    ("active", "bool"),
    ("deceased_date", "datetime"),
    ("deceased_reason", "varchar(255)", False),
    ("date", "datetime", False),
], [("patient_data_pid", ["pid"], True), ("patient_data_providerid", ["providerID"], False)])

table("form_encounter", [
    ("id", "pk"),
    ("encounter", "int", False),
    ("pid", "int", False),
    ("date", "datetime", False),
    ("date_end", "datetime"),
    ("reason", "text"),
    ("class_code", "varchar(10)", False),
    ("pc_catid", "int", False),
    ("facility_id", "int", False),
    ("provider_id", "int", False),
], [("form_encounter_encounter", ["encounter"], True), ("form_encounter_pid", ["pid"], False)])

table("lists", [
    ("id", "pk"),
    ("date", "datetime"),
    ("type", "varchar(255)"),
    ("title", "varchar(255)"),
    ("begdate", "datetime"),
    ("enddate", "varchar(10)"),
    ("diagnosis", "varchar(255)"),
    ("activity", "tinyint"),
    ("reaction", "varchar(255)", False),
    ("severity_al", "varchar(50)"),
    ("verification", "varchar(36)", False),
    ("pid", "int"),
    ("user", "varchar(255)"),
    ("modifydate", "datetime", False),
], [("lists_pid", ["pid"], False), ("lists_type", ["type"], False)])

table("procedure_order", [
    ("procedure_order_id", "pk"),
    ("provider_id", "int", False),
    ("patient_id", "int", False),
    ("encounter_id", "int", False),
    ("date_ordered", "datetime"),
    ("order_status", "varchar(31)"),
    ("activity", "tinyint", False),
], [("procedure_order_patient", ["patient_id"], False)])

table("procedure_result", [
    ("procedure_result_id", "pk"),
    ("procedure_order_id", "int", False),
    ("result_code", "varchar(31)", False),
    ("result_text", "varchar(255)", False),
    ("date", "datetime"),
    ("units", "varchar(31)", False),
    ("result", "varchar(255)", False),
    ("range", "varchar(255)", False),
    ("abnormal", "varchar(31)", False),
    ("result_status", "varchar(31)", False),
], [("procedure_result_order", ["procedure_order_id"], False)])

table("form_vitals", [
    ("id", "pk"),
    ("date", "date"),
    ("pid", "int"),
    ("bps", "varchar(40)"),
    ("bpd", "varchar(40)"),
    ("pulse", "varchar(40)"),
    ("weight", "float"),
    ("note", "varchar(255)"),
    ("activity", "tinyint", False),
], [("form_vitals_pid", ["pid"], False)])

table("prescriptions", [
    ("id", "pk"),
    ("patient_id", "int"),
    ("encounter", "int"),
    ("provider_id", "int"),
    ("drug", "varchar(150)"),
    ("rxnorm_drugcode", "varchar(25)"),
    ("dosage", "varchar(100)"),
    ("quantity", "varchar(31)"),
    ("start_date", "date"),
    ("date_added", "datetime"),
    ("active", "bool", False),
    ("note", "text"),
], [("prescriptions_patient", ["patient_id"], False)])

# ---------------------------------------------------------------------------------------------
# Rows
# ---------------------------------------------------------------------------------------------

# Facilities: 2 has a blank NPI, 3 is closed (inactive = 1), 4 has no NPI (NULL).
for fid, name, npi, inactive, service in [
    (1, "Riverbend Family Practice", "1487603125", 0, 1),
    (2, "Hillside Medical Group", "", 0, 1),
    (3, "Old Mill Clinic", "1326041179", 1, 1),
    (4, "North Lab Services", None, 0, 0),
]:
    row("facility", id=fid, name=name, phone=f"(802) 555-01{fid:02d}", street=f"{fid * 12} Main Street",
        city=["Burlington", "Montpelier", "Rutland", "Barre"][fid - 1], state="VT",
        postal_code=f"0540{fid}", facility_npi=npi, service_location=service, billing_location=1 if fid == 1 else 0,
        inactive=inactive)

# Users: authorized = 1 are providers (Practitioners); 1 and 7 are staff accounts. 4 is retired
# (active = 0); 5 works at no facility (0) and has a blank NPI; 2 and 6 share a last name;
# 8 has blank phone and email and a NULL NPI.
USERS = [
    # id, username, fname, mname, lname, npi, specialty, phone, email, facility_id, authorized, active
    (1, "admin", "Administrator", "", "Admin", "", "", "", "", 1, 0, 1),
    (2, "astone", "Avery", "J", "Stone", "1234567893", "Family Medicine", "(802) 555-0142", "astone@riverbend.example", 1, 1, 1),
    (3, "jreyes", "Jordan", "", "Reyes", "1457392811", "Internal Medicine", "(802) 555-0143", "jreyes@hillside.example", 2, 1, 1),
    (4, "cnguyen", "Casey", "M", "Nguyen", "1669475710", "Pediatrics", "(802) 555-0144", "", 3, 1, 0),
    (5, "mpatel", "Morgan", "", "Patel", "", "Cardiology", "", "mpatel@clinic.example", 0, 1, 1),
    (6, "rstone", "Riley", "", "Stone", "1881697845", "Family Medicine", "(802) 555-0146", None, 1, 1, 1),
    (7, "frontdesk", "Front", "", "Desk", None, "", "(802) 555-0100", "", 1, 0, 1),
    (8, "tbrooks", "Taylor", "A", "Brooks", None, "Endocrinology", "", "", 2, 1, 1),
]
for u in USERS:
    row("users", **dict(zip(["id", "username", "fname", "mname", "lname", "npi", "specialty", "phone", "email",
                             "facility_id", "authorized", "active"], u)))
USERNAME = {u[0]: u[1] for u in USERS}

FIRST = ["Ava", "Liam", "Mia", "Noah", "Emma", "Owen", "Ella", "Lucas", "Chloe", "Mason", "Grace", "Eli",
         "Zoe", "Caleb", "Lily", "Henry", "Nora", "Jack", "Ruby", "Levi"]
LAST = ["Abbott", "Baker", "Carver", "Dalton", "Ellis", "Foster", "Gibson", "Hayes", "Irwin", "Jensen",
        "Keller", "Lawson", "Mercer", "Norris", "Olsen", "Porter", "Quinn", "Ramsey", "Sutton", "Turner"]
MIDDLE = ["", "A", "B", "", "C", "Marie", "", "J"]
CITIES = ["Burlington", "Montpelier", "Rutland", "Barre", "Stowe"]
MARITAL = ["married", "single", "", "divorced", "widowed"]

PATIENTS = 40
# Birth dates on and around a day boundary (1960-01-01) and a year boundary (1960-12-31),
# zero dates (4, 5) and a NULL one (6).
DOB_OVERRIDES = {
    1: dt.date(1960, 1, 1), 2: dt.date(1959, 12, 31), 3: dt.date(1960, 1, 2), 4: ZERO_DATE,
    5: ZERO_DATE, 6: None, 11: dt.date(1960, 1, 1), 12: dt.date(1960, 12, 31), 13: dt.date(1961, 1, 1),
}
DECEASED = {15: dt.datetime(2021, 3, 14, 16, 20), 27: dt.datetime(2023, 11, 2, 7, 5),
            33: dt.datetime(2024, 2, 29, 0, 0), 36: dt.datetime(2019, 8, 1, 23, 59, 59)}
# general practitioner by pid % 8: providers, 0 ("none") and NULL; pid 30 names a staff account.
GP_CYCLE = [2, 3, 4, 5, 6, 8, 0, None]


def dob(pid):
    if pid in DOB_OVERRIDES:
        return DOB_OVERRIDES[pid]
    return dt.date(1930 + (pid * 7) % 70, 1 + pid % 12, 1 + (pid * 3) % 28)


def phone_home(pid):
    if pid % 7 == 0:
        return None
    if pid % 5 == 0:
        return ""
    return f"(802) 555-{(1000 + pid * 37) % 9000:04d}"


for pid in range(1, PATIENTS + 1):
    fname = FIRST[(pid * 3) % len(FIRST)]
    lname = LAST[(pid * 7) % len(LAST)]
    gp = 7 if pid == 30 else GP_CYCLE[pid % 8]
    email = None
    if pid % 4 == 1:
        email = f"{fname.lower()}.{lname.lower()}{pid}@mail.example"
    elif pid % 4 == 3:
        email = ""
    row("patient_data",
        id=1000 + pid, pid=pid,
        pubpid="" if pid == 8 else f"{pid:05d}",
        title="", fname=fname, mname=MIDDLE[pid % len(MIDDLE)], lname=lname,
        DOB=dob(pid),
        sex="" if pid in (5, 17) else ("Female" if pid % 2 == 0 else "Male"),
        status=MARITAL[pid % len(MARITAL)],
        street=f"{pid * 10} Elm Street", city=CITIES[pid % len(CITIES)], state="VT", postal_code=f"05{600 + pid}",
        phone_home=phone_home(pid),
        phone_cell=f"(802) 555-2{pid:03d}" if pid % 3 == 0 else "",
        email=email,
        providerID=gp,
        active=None if pid == 10 else (0 if pid % 9 == 0 else 1),
        deceased_date=DECEASED.get(pid, None if pid % 6 == 0 else ZERO_DATETIME),
        deceased_reason="natural causes" if pid in DECEASED else "",
        date=dt.datetime(2024, 1, 1, 8, 15) + dt.timedelta(days=pid, minutes=pid * 7))

# Encounters: two per patient. `encounter` is the number other tables refer to. 0 means no
# facility / no provider; date_end is a zero date every fifth row (an open visit) and NULL
# every eleventh. Encounter 5021 starts exactly at midnight.
ENCOUNTERS = {}  # pid -> [encounter numbers]
for n in range(1, 2 * PATIENTS + 1):
    pid = (n + 1) // 2
    enc = 5000 + n
    start = dt.datetime(2023, 1, 2, 9, 0) + dt.timedelta(days=n * 4, hours=n % 7, minutes=(n * 13) % 60)
    if n == 21:
        start = dt.datetime(2023, 6, 1, 0, 0)
    end = start + dt.timedelta(minutes=45)
    if n % 11 == 0:
        end = None
    elif n % 5 == 0:
        end = ZERO_DATETIME
    ENCOUNTERS.setdefault(pid, []).append(enc)
    row("form_encounter", id=n, encounter=enc, pid=pid, date=start, date_end=end,
        reason=["Annual physical", "Follow-up", "", "Chest pain", None, "Cough"][n % 6],
        class_code=["AMB", "AMB", "IMP", "EMER", "AMB"][n % 5], pc_catid=[5, 9, 10][n % 3],
        facility_id=[1, 2, 0, 3][n % 4], provider_id=[2, 3, 0, 5, 6, 8, 4][n % 7])

# lists: one table for problems, allergies, medications and surgeries, told apart by `type`.
# Codes carry their system as a prefix ("ICD10:E11.9"); some have an unknown prefix, none,
# or are blank. enddate is TEXT (an older form wrote it as typed): a date, '0000-00-00', ''
# or NULL. begdate is a zero date or NULL on some rows.
PROBLEMS = [
    ("ICD10:E11.9", "Type 2 diabetes mellitus"), ("ICD10:I10", "Essential hypertension"),
    ("SNOMED-CT:44054006", "Diabetes mellitus type 2"), ("E11.9", "Diabetes, type 2"),
    ("ICD9:250.00", "Diabetes mellitus (ICD-9)"), ("", "Back pain"), ("ICD10:J45.909", "Asthma"),
    ("SNOMED-CT:38341003", "Hypertensive disorder"), ("E78.5", "Hyperlipidemia"),
    ("ICD10:E78.5", "Hyperlipidemia, unspecified"),
]
ALLERGIES = [
    ("RXCUI:7980", "Penicillin G", "hives", "moderate"), ("SNOMED-CT:91936005", "Allergy to penicillin", "anaphylaxis", "severe"),
    ("", "Latex", "", ""), ("RXCUI:2670", "Codeine", "nausea", "mild"), ("PEANUT", "Peanuts", "swelling", "severe"),
]
lid = 0


def list_row(pid, kind, code, title, k, reaction="", severity=None, verification=""):
    global lid
    lid += 1
    recorded = dt.datetime(2022, 1, 3, 10, 0) + dt.timedelta(days=lid * 9, minutes=lid * 11)
    begdate = dt.datetime(2015 + lid % 8, 1 + lid % 12, 1 + lid % 28, (lid * 5) % 24, 0)
    if lid % 9 == 4:
        begdate = ZERO_DATETIME
    elif lid % 13 == 6:
        begdate = None
    elif lid == 10:
        begdate = dt.datetime(2020, 3, 1, 0, 0)
    activity = 0 if lid % 4 == 0 else 1
    enddate = None
    if activity == 0:
        enddate = [f"{2022 + lid % 3}-{1 + lid % 12:02d}-{1 + lid % 27:02d}", "0000-00-00", ""][lid % 3]
    elif lid % 7 == 0:
        enddate = "0000-00-00"
    if lid == 12:
        enddate = "2023-01-01"  # activity 0, ended on a year boundary
    row("lists", id=lid, date=recorded, type=kind, title=title, begdate=begdate, enddate=enddate, diagnosis=code,
        activity=activity, reaction=reaction, severity_al=severity, verification=verification, pid=pid,
        user=USERNAME[[2, 3, 6, 8][k % 4]], modifydate=recorded + dt.timedelta(days=2))


for pid in range(1, PATIENTS + 1):
    code, title = PROBLEMS[(pid - 1) % len(PROBLEMS)]
    list_row(pid, "medical_problem", code, title, pid)
    if pid % 3 == 0:
        code, title = PROBLEMS[(pid * 7) % len(PROBLEMS)]
        list_row(pid, "medical_problem", code, title, pid + 1)
    if pid % 4 == 0:
        code, title, reaction, severity = ALLERGIES[(pid // 4) % len(ALLERGIES)]
        list_row(pid, "allergy", code, title, pid, reaction, severity or None,
                 ["confirmed", "unconfirmed", ""][pid % 3])
    if pid % 10 == 0:
        list_row(pid, "medication", "", "Aspirin 81 mg", pid)
    if pid == 7:
        list_row(pid, "surgery", "", "Appendectomy", pid)

# Lab orders and results. Result values are text: numbers (some with trailing zeros), words,
# blank; codes carry a 'LOINC:' prefix, or are a local code without one, or blank. Result 0
# dates: one zero date; one result exactly at midnight of 2023-05-10, the day of a vitals row.
TESTS = [
    ("LOINC:2345-7", "Glucose", "mg/dL", "70-99", ["105", "98", "250", "72"]),
    ("LOINC:4548-4", "Hemoglobin A1c", "%", "4.0-5.6", ["7.2", "6.50", "9.1"]),
    ("LOINC:2160-0", "Creatinine", "mg/dL", "0.6-1.2", ["1.10", "0.9", "1.35"]),
    ("LOINC:5778-6", "Color of Urine", "", "", ["yellow", "amber"]),
    ("UA-PROT", "Urine protein", "", "negative", ["negative", "trace"]),
    ("LOINC:2093-3", "Cholesterol", "mg/dL", "<200", ["199", "240", "100"]),
]
ORDERS = 30
rid = 0
for oid in range(1, ORDERS + 1):
    pid = 1 + (oid * 11) % PATIENTS
    ordered = dt.datetime(2023, 1, 9, 7, 30) + dt.timedelta(days=oid * 11, minutes=oid * 17)
    row("procedure_order", procedure_order_id=oid, provider_id=[2, 3, 0, 6, 8][oid % 5], patient_id=pid,
        encounter_id=0 if oid % 4 == 0 else ENCOUNTERS[pid][oid % 2], date_ordered=ordered,
        order_status="complete", activity=1)
    for k in range(2 + oid % 2):
        rid += 1
        code, text, units, ref, values = TESTS[(oid + k * 2) % len(TESTS)]
        value = values[(oid + k) % len(values)]
        when = ordered + dt.timedelta(hours=2 + k, minutes=rid % 50)
        if rid == 17:
            when = ZERO_DATETIME
        elif rid == 23:
            when = dt.datetime(2023, 5, 10, 0, 0)
        elif rid == 24:
            when = dt.datetime(2023, 5, 9, 23, 59, 59)
        if rid == 31:
            value = ""
        if rid == 40:
            code = ""
        number = value.replace(".", "", 1).isdigit()
        abnormal = ""
        if number and ref and "-" in ref:
            low, high = (float(x) for x in ref.split("-"))
            abnormal = "high" if float(value) > high else ("low" if float(value) < low else "no")
        row("procedure_result", procedure_result_id=rid, procedure_order_id=oid, result_code=code,
            result_text=text, date=when, units=units, result=value, range=ref, abnormal=abnormal,
            result_status=["final", "final", "prelim", "corrected"][rid % 4])

# Vitals: one row per visit form; `date` is a DATE (the lab results have DATETIMEs). bps/bpd
# and pulse are text ('' when not taken), weight is a FLOAT in pounds with 0 for not weighed.
# Row 9 is on 2023-05-10 (the day of lab result 23), row 14 has a zero date, row 20 was
# deleted (activity = 0).
for vid in range(1, 61):
    pid = 1 + (vid * 7) % PATIENTS
    day = dt.date(2023, 1, 4) + dt.timedelta(days=vid * 6)
    if vid == 9:
        day = dt.date(2023, 5, 10)
    elif vid == 14:
        day = ZERO_DATE
    bp = vid % 6 != 5
    pulse = "" if vid % 5 == 3 else f"{60 + (vid * 7) % 45}.00"
    weight = 0.0 if vid % 8 == 7 else round(110 + (vid * 37) % 140 + (vid % 10) / 10, 1)
    row("form_vitals", id=vid, date=day, pid=pid,
        bps=str(100 + (vid * 9) % 70) if bp else "", bpd=str(60 + (vid * 5) % 40) if bp else "",
        pulse=pulse, weight=weight, note="", activity=0 if vid == 20 else 1)

# Prescriptions: start_date on both sides of 2009-01-01, zero dates; 0 for no encounter and no
# provider; blank RxNorm codes; active is tinyint(1).
DRUGS = [
    ("Metformin 500 MG Oral Tablet", "861007", "500 mg twice daily", "60"),
    ("Lisinopril 10 MG Oral Tablet", "314076", "10 mg daily", "30"),
    ("Atorvastatin 20 MG Oral Tablet", "617312", "20 mg at bedtime", "30"),
    ("Albuterol inhaler", "", "2 puffs as needed", "1"),
    ("Amoxicillin 500 MG Oral Capsule", "308191", "500 mg three times daily", "21"),
]
for n in range(1, 46):
    pid = 1 + (n * 3) % PATIENTS
    drug, code, dosage, qty = DRUGS[n % len(DRUGS)]
    start = dt.date(2007, 6, 1) + dt.timedelta(days=n * 61)
    start = {5: dt.date(2009, 1, 1), 6: dt.date(2008, 12, 31), 7: dt.date(2009, 1, 2), 11: ZERO_DATE,
             12: None, 30: ZERO_DATE}.get(n, start)
    row("prescriptions", id=n, patient_id=pid, encounter=0 if n % 3 == 0 else ENCOUNTERS[pid][n % 2],
        provider_id=[2, 3, 0, 5, 6, 8, 4][n % 7], drug=drug, rxnorm_drugcode=code, dosage=dosage, quantity=qty,
        start_date=start, date_added=dt.datetime(2009, 1, 1, 9, 0) + dt.timedelta(days=n * 40),
        active=0 if n % 4 == 0 else 1, note="")

# ---------------------------------------------------------------------------------------------
# Rendering
# ---------------------------------------------------------------------------------------------

HEADER = {
    "sqlite": "booleans are INTEGER 1/0, zero dates are the text '0000-00-00' / '0000-00-00 00:00:00'",
    "postgres": "tinyint(1) flags are BOOLEAN (as pgloader migrates them); PostgreSQL cannot store zero dates, so "
                "DATE/TIMESTAMP columns hold NULL there (the TEXT column lists.enddate keeps '0000-00-00')",
    "mysql": "tinyint(1) flags, real zero dates (the session sql_mode below allows them)",
}


def render(dialect):
    out = [
        "-- Clinic sample database (tests/fixtures/clinic/README.md) for " +
        {"sqlite": "SQLite", "postgres": "PostgreSQL", "mysql": "MariaDB/MySQL"}[dialect] + ".",
        "-- Generated by tools/clinic_fixture.py: edit the generator, not this file.",
        "-- " + HEADER[dialect] + ".",
        "-- One statement per line group, each ending with a semicolon at the end of a line.",
        "",
    ]
    if dialect == "mysql":
        out += ["SET SESSION sql_mode = 'STRICT_TRANS_TABLES,NO_ENGINE_SUBSTITUTION';", "SET NAMES utf8mb4;", ""]
    for name, (columns, indexes) in TABLES.items():
        out.append(f"DROP TABLE IF EXISTS {name};")
        out.append(f"CREATE TABLE {name} (")
        defs = []
        for col, kind, nullable in columns:
            ty = sql_type(kind, dialect)
            null = "" if kind == "pk" else (" NULL" if nullable else " NOT NULL")
            defs.append(f"    {ident(col, dialect)} {ty}{null}")
        out.append(",\n".join(defs))
        out.append(")" + (" ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;" if dialect == "mysql" else ";"))
        for iname, cols, unique in indexes:
            u = "UNIQUE " if unique else ""
            out.append(f"CREATE {u}INDEX {iname} ON {name} ({', '.join(ident(c, dialect) for c in cols)});")
        rows = ROWS[name]
        if rows:
            names = ", ".join(ident(c[0], dialect) for c in columns)
            out.append(f"INSERT INTO {name} ({names}) VALUES")
            lines = []
            for r in rows:
                vals = ", ".join(literal(r[c], kind, dialect) for c, kind, _ in columns)
                lines.append(f"({vals})")
            out.append(",\n".join(lines) + ";")
        out.append("")
    return "\n".join(out)


def main():
    check = "--check" in sys.argv[1:]
    stale = []
    for dialect in DIALECTS:
        path = os.path.normpath(os.path.join(OUT_DIR, f"{dialect}.sql"))
        text = render(dialect)
        if check:
            try:
                with open(path, encoding="utf-8") as f:
                    if f.read() != text:
                        stale.append(path)
            except FileNotFoundError:
                stale.append(path)
        else:
            os.makedirs(OUT_DIR, exist_ok=True)
            with open(path, "w", encoding="utf-8") as f:
                f.write(text)
            print(f"wrote {path}")
    if stale:
        print("stale (run python3 tools/clinic_fixture.py): " + ", ".join(stale), file=sys.stderr)
        sys.exit(1)


if __name__ == "__main__":
    main()
