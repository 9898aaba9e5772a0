// Builds the workbench into dist/ with esbuild: hashed JS and CSS, index.html, the service
// worker (with the list of files to precache), the manifest and icons. Cheap when nothing
// changed: it compares the newest source time with dist/.build-stamp and exits at once.
import { createHash } from "node:crypto";
import { cpSync, existsSync, mkdirSync, readdirSync, readFileSync, realpathSync, renameSync, rmSync, statSync, writeFileSync } from "node:fs";
import { dirname, join, relative } from "node:path";
import { fileURLToPath } from "node:url";
import * as esbuild from "esbuild";

const HERE = dirname(fileURLToPath(import.meta.url));
const DIST = join(HERE, "dist");
const STAMP = join(DIST, ".build-stamp");
const BASE = "/app/";
const force = process.argv.includes("--force");

function newest(path) {
  if (!existsSync(path)) return 0;
  const st = statSync(path);
  if (!st.isDirectory()) return st.mtimeMs;
  let max = st.mtimeMs;
  for (const name of readdirSync(path)) {
    if (name === "node_modules" || name.startsWith(".")) continue;
    max = Math.max(max, newest(join(path, name)));
  }
  return max;
}

/** The SDK is a file: dependency; its built output counts as a source of ours. */
function sdkDir() {
  const link = join(HERE, "node_modules", "@fieldsync", "client");
  return existsSync(link) ? realpathSync(link) : null;
}

function sourcesTime() {
  const sdk = sdkDir();
  return Math.max(
    ...["src", "public", "build.mjs", "package-lock.json", "tsconfig.json"].map((p) => newest(join(HERE, p))),
    sdk ? newest(join(sdk, "dist")) : 0,
    sdk ? newest(join(sdk, "package.json")) : 0,
  );
}

if (!force && existsSync(STAMP) && statSync(STAMP).mtimeMs >= sourcesTime()) {
  console.log("workbench: dist/ is up to date (npm run build:force rebuilds)");
  process.exit(0);
}

const started = Date.now();
const OUT = join(HERE, "dist.tmp");
rmSync(OUT, { recursive: true, force: true });
mkdirSync(join(OUT, "assets"), { recursive: true });

const app = await esbuild.build({
  entryPoints: { app: join(HERE, "src", "main.tsx") },
  bundle: true,
  minify: true,
  format: "esm",
  target: ["chrome100", "safari15", "firefox100"],
  jsx: "automatic",
  jsxImportSource: "preact",
  outdir: join(OUT, "assets"),
  entryNames: "[name]-[hash]",
  chunkNames: "[name]-[hash]",
  splitting: true,
  assetNames: "[name]-[hash]",
  metafile: true,
  legalComments: "none",
  logLevel: "warning",
  define: { "process.env.NODE_ENV": '"production"' },
});
const outputs = Object.keys(app.metafile.outputs).map((p) => relative(OUT, join(HERE, p)));
const entry = Object.entries(app.metafile.outputs).find(([, o]) => o.entryPoint?.endsWith("src/main.tsx"))[0];
const js = relative(OUT, join(HERE, entry));
const css = outputs.find((p) => p.endsWith(".css"));
// The chunks the entry imports statically: preloaded from the HTML, so they load in parallel.
const preload = app.metafile.outputs[entry].imports
  .filter((i) => i.kind === "import-statement")
  .map((i) => `<link rel="modulepreload" href="${BASE}${relative(OUT, join(HERE, i.path))}">`)
  .join("\n");

cpSync(join(HERE, "public"), OUT, { recursive: true });
const template = readFileSync(join(HERE, "src", "index.html"), "utf8");
const html = template
  .replaceAll("%BASE%", BASE)
  .replace("%CSS%", css ? `<link rel="stylesheet" href="${BASE}${css}">` : "")
  .replace("%JS%", `${preload}\n<script type="module" src="${BASE}${js}"></script>`);
writeFileSync(join(OUT, "index.html"), html);

// What the service worker precaches: the shell and every built or public file.
function listFiles(dir) {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? listFiles(join(dir, e.name)) : [join(dir, e.name)],
  );
}
const files = listFiles(OUT).map((p) => relative(OUT, p)).filter((p) => !p.endsWith(".map")).sort();
const version = createHash("sha256");
for (const f of files) version.update(f).update(readFileSync(join(OUT, f)));
await esbuild.build({
  entryPoints: [join(HERE, "src", "sw.ts")],
  bundle: true,
  minify: true,
  format: "iife",
  target: ["chrome100", "safari15"],
  outfile: join(OUT, "sw.js"),
  logLevel: "warning",
  define: {
    __PRECACHE__: JSON.stringify(files.map((f) => BASE + (f === "index.html" ? "" : f))),
    __VERSION__: JSON.stringify(version.digest("hex").slice(0, 12)),
    __BASE__: JSON.stringify(BASE),
  },
});
writeFileSync(join(OUT, ".build-stamp"), JSON.stringify({ js, css, files: files.length, built_at: new Date().toISOString() }));

rmSync(DIST, { recursive: true, force: true });
renameSync(OUT, DIST);
const size = files.reduce((n, f) => n + statSync(join(DIST, f)).size, 0);
console.log(`workbench: built dist/ in ${Date.now() - started} ms (${files.length} files, ${(size / 1024).toFixed(0)} KiB)`);
