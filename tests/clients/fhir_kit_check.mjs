// Drives fhir-kit-client (npm) against a running fhir-facade and prints what it got, as JSON.
//
// Usage: node fhir_kit_check.mjs BASE_URL PLAN_JSON (see fhirpy_check.py). The Rust test copies
// this file next to the node_modules it installed, so that the import resolves.

import { Client } from 'fhir-kit-client';

const [base, planText] = process.argv.slice(2);
const plan = JSON.parse(planText);
const client = new Client({ baseUrl: base });
const out = {};

const cs = await client.capabilityStatement();
out.fhirVersion = cs.fhirVersion;

out.reads = [];
for (const [resourceType, id] of plan.reads) {
  const r = await client.read({ resourceType, id });
  out.reads.push([r.resourceType, r.id]);
}

// Search, then nextPage until there is none.
let bundle = await client.search({
  resourceType: 'Observation',
  searchParams: { patient: `Patient/${plan.patient}`, _count: 5 },
});
out.observations = [];
out.pages = 0;
while (bundle) {
  out.pages += 1;
  for (const e of bundle.entry || []) {
    if (e.search.mode === 'match') out.observations.push(e.resource.id);
  }
  bundle = await client.nextPage({ bundle });
}

// resolve: from the server, and from a Bundle that includes the target.
const included = await client.search({
  resourceType: 'Observation',
  searchParams: { code: plan.code, _include: 'Observation:patient', _count: 3 },
});
out.resolved = [];
const entries = included.entry || [];
const served = new Set(
  entries.filter((e) => e.search.mode === 'include').map((e) => `Patient/${e.resource.id}`),
);
for (const e of entries) {
  // Only references to patients that are served (a soft-deleted one is not).
  if (e.search.mode !== 'match' || !served.has(e.resource.subject.reference)) continue;
  const ref = e.resource.subject.reference;
  const fromServer = await client.resolve({ reference: ref });
  const fromBundle = await client.resolve({ reference: ref, context: included });
  out.resolved.push([e.resource.id, ref, fromServer.id, fromBundle.id]);
}

console.log(JSON.stringify(out));
