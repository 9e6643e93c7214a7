// Reads a JSON array of Kubernetes objects on stdin and checks each against the JSON schema of its apiVersion and kind
// (kubernetes-models: validators compiled from the Kubernetes OpenAPI spec). Prints one line per object, "ok" or the
// errors; exits 1 when any object is invalid or of a kind the package has no schema for.
import { readFileSync } from "node:fs";

const objects = JSON.parse(readFileSync(0, "utf8"));
let failed = 0;
for (const object of objects) {
  const { apiVersion, kind } = object;
  const name = `${kind ?? "?"}/${object.metadata?.name ?? "?"} (${apiVersion ?? "?"})`;
  let model;
  try {
    const module = await import(`kubernetes-models/${apiVersion}/${kind}`);
    model = module[kind];
  } catch {
    model = undefined;
  }
  if (typeof model !== "function") {
    console.log(`${name}: no schema for this apiVersion and kind`);
    failed++;
    continue;
  }
  try {
    new model(object).validate();
    console.log(`${name}: ok`);
  } catch (error) {
    console.log(`${name}: ${error.message}`);
    failed++;
  }
}
console.log(`${objects.length - failed} valid, ${failed} invalid`);
process.exit(failed === 0 ? 0 : 1);
