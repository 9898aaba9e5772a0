/** The committed generated types equal what a running server publishes at GET /sync/v1/schema. */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { expect, test } from "vitest";
import { generateTypes, type SyncSchema } from "../src/codegen.js";
import { sharedServerUrl } from "./harness.js";

const server = { url: sharedServerUrl() };

test("src/generated/schema.ts is what `npm run gen-types` makes from the server's schema", async () => {
  const schema = (await (await fetch(`${server.url}/sync/v1/schema`)).json()) as SyncSchema;
  const committed = readFileSync(join(import.meta.dirname, "..", "src", "generated", "schema.ts"), "utf8");
  expect(Object.keys(schema.mutations).length).toBeGreaterThan(10);
  // On a difference: run `npm run gen-types -- --url <server>` and commit the result.
  expect(committed).toBe(generateTypes(schema));
});

test("the generator maps JSON Schema to TypeScript", () => {
  const text = generateTypes({
    protocol: 2,
    protocols: [1, 2],
    mutations: { "thing.make": { description: "Make a thing.", args: { $ref: "#/$defs/Make" } } },
    $defs: {
      Make: {
        type: "object",
        properties: { id: { type: "string" }, n: { type: "integer" }, tags: { type: "array", items: { type: "string" } }, mode: { enum: ["a", "b"] }, at: { anyOf: [{ type: "string" }, { type: "null" }] } },
        required: ["id"],
        additionalProperties: false,
      },
    },
    entities: { thing: { type: "object", properties: { id: { type: "string" }, version: { type: "integer" } }, required: ["id", "version"] } },
  });
  expect(text).toContain("export const PROTOCOLS: readonly number[] = [1,2];");
  expect(text).toContain('  "thing.make": Make;');
  expect(text).toMatch(/export type Make = \{\n  id: string;\n  n\?: number;\n  tags\?: string\[\];\n  mode\?: "a" \| "b";\n  at\?: string \| null;\n\};/);
  expect(text).toMatch(/  thing: \{\n    id: string;\n    version: number;\n  \};/);
});
