"""Drives fhirpy (PyPI) against a running fhir-facade and prints what it got, as JSON.

Usage: fhirpy_check.py BASE_URL PLAN_JSON. The plan (made by tests/clients/main.rs) names the
resources to read and the values to search for; the Rust test compares the output with the
sample database. Nothing here decides whether the answers are right.
"""

import json
import sys

from fhirpy import SyncFHIRClient


def main():
    base, plan = sys.argv[1], json.loads(sys.argv[2])
    client = SyncFHIRClient(base)
    out = {}

    # Read one resource of every sample type, by reference.
    out["reads"] = []
    for rtype, rid in plan["reads"]:
        r = client.reference(rtype, rid).to_resource()
        out["reads"].append([r["resourceType"], r["id"]])

    # count(): `_count=0&_totalMethod=count`, reading Bundle.total.
    out["count_all"] = client.resources("Patient").count()
    out["count_male"] = client.resources("Patient").search(gender="male").count()

    # Paging: fetch_all() follows the next links.
    females = client.resources("Patient").search(gender="female").limit(7).fetch_all()
    out["females"] = [p["id"] for p in females]
    observations = (
        client.resources("Observation")
        .search(patient=f"Patient/{plan['patient']}")
        .limit(5)
        .fetch_all()
    )
    out["observations"] = [o["id"] for o in observations]

    # Sorting over several pages.
    by_birth = client.resources("Patient").sort("birthdate").limit(50).fetch_all()
    out["by_birthdate"] = [[p["id"], p.get("birthDate")] for p in by_birth]

    # Includes: the raw Bundle keeps the included resources.
    bundle = (
        client.resources("Observation")
        .search(code=plan["code"])
        .include("Observation", "patient")
        .limit(10)
        .fetch_raw()
    )
    out["include"] = [
        [e["search"]["mode"], e["resource"]["resourceType"], e["resource"]["id"]]
        for e in bundle.get("entry", [])
    ]

    # Reference resolution.
    out["resolved"] = []
    for o in observations[:3]:
        for field in ("subject", "encounter"):
            ref = o.get(field)
            if ref is not None:
                r = ref.to_resource()
                out["resolved"].append([o["id"], field, r["resourceType"], r["id"]])

    print(json.dumps(out))


if __name__ == "__main__":
    main()
