/**
 * Seeds the demo-network template once, and starts one shared server on a copy of it for the test
 * files that do not need a server of their own (see harness.ts). Files sharing it use distinct
 * users for their writes, so running in parallel they cannot disturb each other's checks.
 */
import { rmSync } from "node:fs";
import { dirname } from "node:path";
import type { TestProject } from "vitest/node";
import { pgUrl, seedTemplate, Server } from "./harness.js";

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const template = await seedTemplate();
  process.env.FIELDSYNC_SDK_TEMPLATE = template;
  const shared = await Server.start();
  project.provide("template", template);
  project.provide("sharedUrl", shared.url);
  return async () => {
    await shared.stop();
    if (pgUrl() === null) rmSync(dirname(template), { recursive: true, force: true });
  };
}
