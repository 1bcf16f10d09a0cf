import assert from "node:assert/strict";
import { test } from "node:test";

import { MAX_QUANTITY, cartTotals, findItem, formatYen, parseOrder } from "../src/cart.js";

test("parseOrder reads sku:qty pairs, defaults to 1 and adds up repeats", () => {
  const lines = parseOrder(" latte:2, sandwich ,latte:1,");
  assert.deepEqual(
    lines.map((l) => [l.item.sku, l.quantity, l.amount]),
    [
      ["latte", 3, 1650],
      ["sandwich", 1, 432],
    ],
  );
  assert.deepEqual(parseOrder(""), []);
});

test("parseOrder rejects unknown items, bad quantities and junk", () => {
  assert.throws(() => parseOrder("espresso"), /unknown item "espresso"/);
  assert.throws(() => parseOrder("latte:0"), /between 1 and 99/);
  assert.throws(() => parseOrder(`latte:${MAX_QUANTITY},latte`), /between 1 and 99/);
  assert.throws(() => parseOrder("latte:-1"), /bad order entry/);
  assert.throws(() => parseOrder("latte:100"), /bad order entry/);
  assert.throws(() => parseOrder("latte:1:2"), /bad order entry/);
});

test("cartTotals extracts tax once per rate, rounded down", () => {
  // standard: 550 * 3 = 1650 -> 1650 * 10 / 110 = 150
  // reduced: 540 + 432 * 2 = 1404 -> 1404 * 8 / 108 = 104
  const totals = cartTotals(parseOrder("latte:3,latte-to-go,sandwich:2"));
  assert.equal(totals.total, 3054);
  assert.equal(totals.tax, 254);
  assert.equal(totals.net, 2800);
  assert.equal(totals.itemCount, 6);
  assert.deepEqual(totals.byRate, [
    { category: "standard", rate: 10, amount: 1650, tax: 150 },
    { category: "reduced", rate: 8, amount: 1404, tax: 104 },
  ]);
});

test("cartTotals rounds the per-rate sum, not each line", () => {
  // 432 * 8 / 108 = 32 per sandwich, exact; 540 -> 40; one reduced bucket of 972 -> 72.
  const totals = cartTotals(parseOrder("sandwich,latte-to-go"));
  assert.equal(totals.tax, 72);
  assert.deepEqual(cartTotals([]), { total: 0, tax: 0, net: 0, itemCount: 0, byRate: [] });
});

test("findItem and formatYen", () => {
  assert.equal(findItem("tote")?.price, 1650);
  assert.equal(findItem("nope"), undefined);
  assert.equal(formatYen(1650), "¥1,650");
  assert.equal(formatYen(0), "¥0");
  assert.throws(() => formatYen(1.5), RangeError);
});
