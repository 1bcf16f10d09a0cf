// @ts-check
// Server-side rendering of the console's single page.

import { MENU, cartTotals, formatYen } from "./cart.js";

/** @typedef {import("./cart.js").OrderLine} OrderLine */

/** @type {Record<string, string>} */
const ENTITIES = { "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" };

/**
 * @param {string} text
 * @returns {string}
 */
export function escapeHtml(text) {
  return text.replace(/[&<>"']/g, (c) => ENTITIES[c] ?? c);
}

/**
 * @param {OrderLine[]} lines
 * @returns {string}
 */
export function renderOrder(lines) {
  if (lines.length === 0) {
    return '<p class="empty">No items yet: add <code>?order=latte:2,sandwich</code> to the address.</p>';
  }
  const totals = cartTotals(lines);
  const rows = lines
    .map(
      (l) =>
        `<tr><td>${escapeHtml(l.item.name)}</td><td>${l.quantity}</td><td>${formatYen(l.amount)}</td></tr>`,
    )
    .join("");
  const taxes = totals.byRate
    .map((r) => `<li>${r.rate}% on ${formatYen(r.amount)}: tax ${formatYen(r.tax)}</li>`)
    .join("");
  return [
    `<table><thead><tr><th>Item</th><th>Qty</th><th>Amount</th></tr></thead><tbody>${rows}</tbody></table>`,
    `<p class="total">Total (${totals.itemCount} items, tax included): <strong>${formatYen(totals.total)}</strong></p>`,
    `<ul class="tax">${taxes}</ul>`,
  ].join("\n");
}

/**
 * @param {{ lines: OrderLine[], error?: string }} page
 * @returns {string}
 */
export function renderPage({ lines, error }) {
  const menu = MENU.map(
    (i) => `<li><code>${escapeHtml(i.sku)}</code> ${escapeHtml(i.name)}: ${formatYen(i.price)}</li>`,
  ).join("");
  const body = error ? `<p class="error">${escapeHtml(error)}</p>` : renderOrder(lines);
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>MPAC SmartPOS console</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
</head>
<body>
<h1>MPAC SmartPOS console</h1>
<h2>Menu</h2>
<ul class="menu">${menu}</ul>
<h2>Order</h2>
${body}
</body>
</html>
`;
}
