// Fails when line coverage of src/ in an lcov file is below a threshold.
// Node.js 20's test runner measures coverage but has no threshold option.
//
//   node scripts/check-coverage.js coverage/lcov.info 80

import { readFileSync } from "node:fs";
import { relative, sep } from "node:path";

const [file = "coverage/lcov.info", threshold = "80"] = process.argv.slice(2);
const min = Number(threshold);

let current = "";
const files = new Map();
for (const line of readFileSync(file, "utf8").split("\n")) {
  if (line.startsWith("SF:")) {
    current = relative(process.cwd(), line.slice(3)).split(sep).join("/");
  } else if (line.startsWith("LF:") || line.startsWith("LH:")) {
    const entry = files.get(current) ?? { found: 0, hit: 0 };
    entry[line.startsWith("LF:") ? "found" : "hit"] = Number(line.slice(3));
    files.set(current, entry);
  }
}

let found = 0;
let hit = 0;
for (const [name, entry] of [...files].sort()) {
  if (!name.startsWith("src/")) continue;
  found += entry.found;
  hit += entry.hit;
  console.log(`${name.padEnd(20)} ${((100 * entry.hit) / entry.found).toFixed(2).padStart(7)}%`);
}
if (found === 0) {
  console.error(`no coverage for src/ in ${file}`);
  process.exit(1);
}
const total = (100 * hit) / found;
console.log(`${"total (src/)".padEnd(20)} ${total.toFixed(2).padStart(7)}%`);
if (total < min) {
  console.error(`Coverage ${total.toFixed(2)}% is below ${min}%`);
  process.exit(1);
}
