/**
 * The storage contract on the IndexedDB adapter, in real headless Chromium (Debian's
 * /usr/bin/chromium through playwright-core; no browser is downloaded). The compiled dist/ is
 * served from 127.0.0.1 and the same contract cases run inside the page.
 */
import { readFileSync } from "node:fs";
import { createServer, type Server } from "node:http";
import { extname, join, normalize } from "node:path";
import { chromium, type Browser, type Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { contractCases } from "../src/testing/contract.js";

const ROOT = join(import.meta.dirname, "..");
let server: Server;
let browser: Browser;
let page: Page;
let base = "";

beforeAll(async () => {
  server = createServer((req, res) => {
    const path = normalize(decodeURIComponent(new URL(req.url ?? "/", "http://x").pathname)).replace(/^(\.\.[/\\])+/, "");
    if (path === "/" || path === "/index.html") {
      res.writeHead(200, { "Content-Type": "text/html" }).end("<!doctype html><title>contract</title>");
      return;
    }
    if (!path.startsWith("/dist/")) return void res.writeHead(404).end();
    try {
      const body = readFileSync(join(ROOT, path));
      res.writeHead(200, { "Content-Type": extname(path) === ".js" ? "text/javascript" : "application/octet-stream" }).end(body);
    } catch {
      res.writeHead(404).end();
    }
  });
  await new Promise<void>((ok) => server.listen(0, "127.0.0.1", ok));
  base = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
  browser = await chromium.launch({
    executablePath: "/usr/bin/chromium",
    args: ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update"],
  });
  page = await browser.newPage();
  await page.goto(`${base}/index.html`);
});

afterAll(async () => {
  await browser?.close();
  await new Promise((ok) => server?.close(ok));
});

// Runs in the page; a string, so that vitest does not rewrite its dynamic imports.
const IN_PAGE = `async (i) => {
  const { contractCases: cases } = await import("/dist/testing/contract.js");
  const { IndexedDbStorage } = await import("/dist/storage/indexeddb.js");
  const names = new WeakMap();
  const target = {
    async create() {
      const name = "contract-" + i + "-" + Math.random().toString(36).slice(2);
      const s = new IndexedDbStorage(name);
      await s.open();
      names.set(s, name);
      return s;
    },
    async reopen(old) {
      const name = names.get(old);
      await old.close();
      const s = new IndexedDbStorage(name);
      await s.open();
      names.set(s, name);
      return s;
    },
  };
  try {
    await cases[i].run(target);
    return "ok";
  } catch (error) {
    return String(error && error.stack || error);
  }
}`;

describe("IndexedDB storage adapter contract (headless Chromium)", () => {
  for (const [index, c] of contractCases.entries()) {
    test(c.name, async () => {
      const outcome = await page.evaluate(`(${IN_PAGE})(${index})`);
      expect(outcome).toBe("ok");
    });
  }
});
