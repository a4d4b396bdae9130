// Reads fhir-facade's XML answers with FHIR.js (the npm package `fhir`, a JSON <-> XML
// converter kept apart from this project) and prints, for each path of the plan, the server's
// JSON answer beside the JSON that FHIR.js makes of the XML answer.
//
// Usage: node fhir_xml_check.mjs BASE_URL PLAN_JSON, where the plan is a JSON array of paths
// relative to the base. The Rust test copies this file next to the node_modules it installed,
// so that the import resolves.

import fhir from 'fhir';

const [base, planText] = process.argv.slice(2);
const paths = JSON.parse(planText);
const converter = new fhir.Fhir();

async function get(path, accept) {
  const res = await fetch(`${base}/${path}`, { headers: { accept } });
  return { status: res.status, contentType: res.headers.get('content-type'), body: await res.text() };
}

const out = [];
for (const path of paths) {
  const json = await get(path, 'application/fhir+json');
  const xml = await get(path, 'application/fhir+xml');
  out.push({
    path,
    status: [json.status, xml.status],
    contentType: xml.contentType,
    json: json.body,
    // A JSON string, so that decimals keep their digits.
    fromXml: converter.xmlToJson(xml.body),
  });
}
console.log(JSON.stringify(out));
