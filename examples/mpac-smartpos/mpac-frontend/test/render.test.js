import assert from "node:assert/strict";
import { test } from "node:test";

import { parseOrder } from "../src/cart.js";
import { escapeHtml, renderOrder, renderPage } from "../src/render.js";

test("escapeHtml escapes markup", () => {
  assert.equal(escapeHtml(`<a href="x">'&'</a>`), "&lt;a href=&quot;x&quot;&gt;&#39;&amp;&#39;&lt;/a&gt;");
});

test("renderOrder lists lines, total and tax per rate", () => {
  const html = renderOrder(parseOrder("latte:2,sandwich"));
  assert.match(html, /<td>Caffè latte \(eat in\)<\/td><td>2<\/td><td>¥1,100<\/td>/);
  assert.match(html, /Total \(3 items, tax included\): <strong>¥1,532<\/strong>/);
  assert.match(html, /<li>10% on ¥1,100: tax ¥100<\/li>/);
  assert.match(html, /<li>8% on ¥432: tax ¥32<\/li>/);
  assert.match(renderOrder([]), /No items yet/);
});

test("renderPage shows the menu and escapes errors", () => {
  const page = renderPage({ lines: [] });
  assert.ok(page.startsWith("<!doctype html>"));
  assert.match(page, /<code>tote<\/code> Tote bag: ¥1,650/);
  const withError = renderPage({ lines: [], error: `unknown item "<script>"` });
  assert.match(withError, /unknown item &quot;&lt;script&gt;&quot;/);
  assert.doesNotMatch(withError, /<script>/);
});
