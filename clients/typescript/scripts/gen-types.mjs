#!/usr/bin/env node
// Regenerates src/generated/schema.ts from a running server's GET /sync/v1/schema.
// Usage: npm run gen-types -- [--url http://127.0.0.1:8000] [--check]
//   --check exits 1 (and writes nothing) when the committed file differs.
import { readFileSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { generateTypes } from "../dist/codegen.js";

const args = process.argv.slice(2);
const at = args.indexOf("--url");
const base = at >= 0 ? args[at + 1] : (process.env.FIELDSYNC_URL ?? "http://127.0.0.1:8000");
const target = join(dirname(fileURLToPath(import.meta.url)), "..", "src", "generated", "schema.ts");
const response = await fetch(new URL("/sync/v1/schema", base));
if (!response.ok) {
  console.error(`GET ${base}/sync/v1/schema answered ${response.status}`);
  process.exit(1);
}
const text = generateTypes(await response.json());
if (args.includes("--check")) {
  const same = readFileSync(target, "utf8") === text;
  console.log(same ? "src/generated/schema.ts is up to date" : "src/generated/schema.ts differs: run npm run gen-types");
  process.exit(same ? 0 : 1);
}
writeFileSync(target, text);
console.log(`wrote ${target}`);
