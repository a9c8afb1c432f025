// Builds the studio's page into dist/: app.js (every module of src/ and the
// CodeMirror packages, bundled and minified), app.css, index.html and the
// icon. The output depends only on the sources and the locked packages, so
// check-bundle.sh can hold the committed dist/ to a fresh build.

import { build } from "esbuild";
import { copyFileSync, mkdirSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));
const out = process.argv[2] ?? join(here, "dist");
mkdirSync(out, { recursive: true });

await build({
  absWorkingDir: here,
  entryPoints: [
    { in: "src/main.ts", out: "app" },
    { in: "src/app.css", out: "app" },
  ],
  outdir: out,
  bundle: true,
  minify: true,
  format: "iife",
  target: ["es2022", "chrome110", "firefox110", "safari16"],
  legalComments: "none",
  charset: "utf8",
  sourcemap: false,
  metafile: false,
  logLevel: "warning",
});

for (const file of ["index.html", "icon.svg"]) {
  copyFileSync(join(here, "static", file), join(out, file));
}
