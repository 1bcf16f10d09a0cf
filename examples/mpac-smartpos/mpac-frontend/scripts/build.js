// Builds the deployable bundle into dist/: the server sources, a prerendered
// index.html for the CDN, and a size check (the bundle must stay small).

import { copyFileSync, mkdirSync, readdirSync, rmSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";

import { parseOrder } from "../src/cart.js";
import { renderPage } from "../src/render.js";

const BUDGET_BYTES = 64 * 1024;
const out = "dist";

rmSync(out, { recursive: true, force: true });
mkdirSync(join(out, "src"), { recursive: true });
mkdirSync(join(out, "public"), { recursive: true });

for (const name of readdirSync("src")) {
  if (name.endsWith(".js")) copyFileSync(join("src", name), join(out, "src", name));
}
copyFileSync("package.json", join(out, "package.json"));
writeFileSync(join(out, "public", "index.html"), renderPage({ lines: parseOrder("") }));
writeFileSync(join(out, "public", "demo.html"), renderPage({ lines: parseOrder("latte:2,sandwich,tote") }));

/** @param {string} dir @returns {number} */
function size(dir) {
  return readdirSync(dir, { withFileTypes: true }).reduce((sum, entry) => {
    const path = join(dir, entry.name);
    return sum + (entry.isDirectory() ? size(path) : statSync(path).size);
  }, 0);
}

const total = size(out);
console.log(`dist/: ${total} bytes (budget ${BUDGET_BYTES})`);
if (total > BUDGET_BYTES) {
  console.error("bundle is over budget");
  process.exit(1);
}
