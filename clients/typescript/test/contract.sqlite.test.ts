/** The storage contract on the SQLite adapter (better-sqlite3, real files). */
import { join } from "node:path";
import { describe, test } from "vitest";
import { SqliteStorage } from "../src/storage/sqlite.js";
import { contractCases } from "../src/testing/contract.js";
import { scratchDir } from "./harness.js";

const files = new WeakMap<object, string>();
const target = {
  async create() {
    const file = join(scratchDir(), "replica.db");
    const s = new SqliteStorage(file);
    await s.open();
    files.set(s, file);
    return s;
  },
  async reopen(old: object) {
    const file = files.get(old)!;
    await (old as SqliteStorage).close();
    const s = new SqliteStorage(file);
    await s.open();
    files.set(s, file);
    return s;
  },
};

describe("SQLite storage adapter contract", () => {
  for (const c of contractCases) test(c.name, () => c.run(target));
});
