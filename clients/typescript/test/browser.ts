/** The SDK in headless Chromium: dist/ bundled with esbuild, served from 127.0.0.1. */
import { createServer, type Server as HttpServer } from "node:http";
import { join } from "node:path";
import { build } from "esbuild";
import { type Browser, chromium, type Page } from "playwright-core";

const ROOT = join(import.meta.dirname, "..");

export interface BrowserSdk {
  page: Page;
  close(): Promise<void>;
}

/**
 * Opens a page whose `import("/sdk.js")` gives `createClient` and `IndexedDbStorage`. The page's
 * origin is not the API's and the API sends no CORS headers, hence `--disable-web-security`.
 */
export async function openBrowserSdk(): Promise<BrowserSdk> {
  const bundle = await build({
    bundle: true,
    format: "esm",
    platform: "browser",
    write: false,
    stdin: {
      contents: `export { createClient } from "./dist/index.js"; export { IndexedDbStorage } from "./dist/storage/indexeddb.js";`,
      resolveDir: ROOT,
      loader: "js",
    },
  });
  const code = bundle.outputFiles[0]!.text;
  const http: HttpServer = createServer((req, res) => {
    if (req.url === "/sdk.js") res.writeHead(200, { "Content-Type": "text/javascript" }).end(code);
    else res.writeHead(200, { "Content-Type": "text/html" }).end("<!doctype html><title>fieldsync sdk</title>");
  });
  await new Promise<void>((ok) => http.listen(0, "127.0.0.1", ok));
  const browser: Browser = await chromium.launch({
    executablePath: "/usr/bin/chromium",
    args: ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update", "--disable-web-security"],
  });
  const page = await browser.newPage();
  await page.goto(`http://127.0.0.1:${(http.address() as { port: number }).port}/`);
  return {
    page,
    async close() {
      await browser.close();
      await new Promise((ok) => http.close(ok));
    },
  };
}
