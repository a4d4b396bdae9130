"""Drives fhirclient (SMART on FHIR's Python client, PyPI) against a running fhir-facade and
prints what it got, as JSON.

Usage: fhirclient_check.py BASE_URL PLAN_JSON (see fhirpy_check.py). fhirclient parses every
response into its strict R4 models, so a resource or CapabilityStatement with an unknown or
mistyped element fails here.
"""

import importlib
import json
import sys

from fhirclient import client
from fhirclient.models.fhirsearch import FHIRSearch
from fhirclient.models.observation import Observation
from fhirclient.models.patient import Patient


def model(rtype):
    module = importlib.import_module(f"fhirclient.models.{rtype.lower()}")
    return getattr(module, rtype)


def main():
    base, plan = sys.argv[1], json.loads(sys.argv[2])
    smart = client.FHIRClient(settings={"app_id": "fhir-facade-test", "api_base": base})
    # Reads and parses the CapabilityStatement (and its security, none here).
    smart.prepare()
    server = smart.server
    out = {
        "ready": smart.ready,
        "fhirVersion": server.capabilityStatement.fhirVersion,
    }

    out["reads"] = []
    for rtype, rid in plan["reads"]:
        r = model(rtype).read(rid, server)
        out["reads"].append([r.resource_type, r.id])

    # Paging through every page.
    search = Patient.where(struct={"gender": "female", "_count": "7"})
    out["females"] = [p.id for p in search.perform_resources_iter(server)]
    search = Patient.where(struct={"_sort": "-birthdate", "_count": "25"})
    out["by_birthdate_desc"] = [
        [p.id, p.birthDate.as_json() if p.birthDate else None]
        for p in search.perform_resources_iter(server)
    ]

    # Includes (`_include=Observation:subject`), first page.
    search = FHIRSearch(Observation, {"code": plan["code"], "_count": "10"}).include("subject")
    bundle = next(search.perform_iter(server))
    out["include"] = [
        [e.search.mode, e.resource.resource_type, e.resource.id] for e in bundle.entry or []
    ]

    # Reference resolution from a read resource.
    out["resolved"] = []
    entries = bundle.entry or []
    served = {f"Patient/{e.resource.id}" for e in entries if e.search.mode == "include"}
    for e in entries:
        # Only references to patients that are served (a soft-deleted one is not).
        if e.search.mode != "match" or e.resource.subject.reference not in served:
            continue
        o = Observation.read(e.resource.id, server)
        p = o.subject.resolved(Patient)
        out["resolved"].append([o.id, "subject", p.resource_type, p.id])

    print(json.dumps(out))


if __name__ == "__main__":
    main()
