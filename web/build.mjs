// Bundles the dashboard's pages into OUT (default dist/): index.html,
// assets/app.js (esbuild, one minified file with uPlot and dagre) and
// assets/app.css. Run by the CMake build (src/ui/CMakeLists.txt), which
// embeds the result in the enclave binary; `npm run build` for a look.
import * as esbuild from "esbuild";
import fs from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";

const here = path.dirname(fileURLToPath(import.meta.url));
const out = path.resolve(process.argv[2] || path.join(here, "dist"));
fs.mkdirSync(path.join(out, "assets"), { recursive: true });

await esbuild.build({
  entryPoints: [path.join(here, "src/app.js")],
  bundle: true,
  minify: true,
  format: "iife",
  target: ["chrome100", "firefox102"],
  outfile: path.join(out, "assets/app.js"),
  logLevel: "warning",
  legalComments: "none",
});
const css =
  fs.readFileSync(path.join(here, "node_modules/uplot/dist/uPlot.min.css"), "utf8") +
  "\n" +
  fs.readFileSync(path.join(here, "src/style.css"), "utf8");
fs.writeFileSync(path.join(out, "assets/app.css"), css);
fs.copyFileSync(path.join(here, "src/index.html"), path.join(out, "index.html"));
