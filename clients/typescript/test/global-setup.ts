/** Seeds the demo-network template once for every test file (see harness.ts). */
import { rmSync } from "node:fs";
import { dirname } from "node:path";
import type { TestProject } from "vitest/node";
import { pgUrl, seedTemplate } from "./harness.js";

export default async function setup(project: TestProject): Promise<() => void> {
  const template = await seedTemplate();
  project.provide("template", template);
  return () => {
    if (pgUrl() === null) rmSync(dirname(template), { recursive: true, force: true });
  };
}
