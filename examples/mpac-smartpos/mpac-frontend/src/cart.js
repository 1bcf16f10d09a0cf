// @ts-check
// The order logic of the merchant console: a menu, orders parsed from a
// compact "sku:qty,sku:qty" form, and totals with Japanese consumption tax.
// Menu prices include tax (as Japanese retail displays them); the tax is
// extracted once per rate over the whole order and rounded down, the same
// rule svc-portal applies to receipts.

/** @typedef {"standard" | "reduced"} TaxCategory */

/**
 * @typedef {object} MenuItem
 * @property {string} sku
 * @property {string} name
 * @property {number} price      tax-included price in yen
 * @property {TaxCategory} category
 */

/**
 * @typedef {object} OrderLine
 * @property {MenuItem} item
 * @property {number} quantity
 * @property {number} amount
 */

/**
 * @typedef {object} Totals
 * @property {number} total       what the guest pays
 * @property {number} tax         tax contained in the total
 * @property {number} net         total minus tax
 * @property {number} itemCount
 * @property {{category: TaxCategory, rate: number, amount: number, tax: number}[]} byRate
 */

/** @type {Record<TaxCategory, number>} */
export const TAX_RATES = { standard: 10, reduced: 8 };

export const MAX_QUANTITY = 99;

/** @type {readonly MenuItem[]} */
export const MENU = Object.freeze([
  { sku: "latte", name: "Caffè latte (eat in)", price: 550, category: "standard" },
  { sku: "latte-to-go", name: "Caffè latte (to go)", price: 540, category: "reduced" },
  { sku: "sandwich", name: "Egg sandwich (to go)", price: 432, category: "reduced" },
  { sku: "tote", name: "Tote bag", price: 1650, category: "standard" },
]);

/**
 * @param {string} sku
 * @returns {MenuItem | undefined}
 */
export function findItem(sku) {
  return MENU.find((item) => item.sku === sku);
}

/**
 * Parses "latte:2,sandwich" (quantity defaults to 1; repeated SKUs add up).
 * @param {string} text
 * @returns {OrderLine[]}
 */
export function parseOrder(text) {
  /** @type {Map<string, OrderLine>} */
  const lines = new Map();
  for (const part of text.split(",")) {
    const entry = part.trim();
    if (entry === "") continue;
    const [sku, qty = "1", ...rest] = entry.split(":");
    if (rest.length > 0 || !/^\d{1,2}$/.test(qty)) {
      throw new Error(`bad order entry "${entry}"`);
    }
    const item = findItem(sku);
    if (!item) throw new Error(`unknown item "${sku}"`);
    const line = lines.get(sku) ?? { item, quantity: 0, amount: 0 };
    line.quantity += Number(qty);
    if (line.quantity < 1 || line.quantity > MAX_QUANTITY) {
      throw new Error(`quantity of "${sku}" must be between 1 and ${MAX_QUANTITY}`);
    }
    line.amount = line.quantity * item.price;
    lines.set(sku, line);
  }
  return [...lines.values()];
}

/**
 * @param {OrderLine[]} lines
 * @returns {Totals}
 */
export function cartTotals(lines) {
  /** @type {Map<TaxCategory, number>} */
  const sums = new Map();
  let itemCount = 0;
  for (const line of lines) {
    sums.set(line.item.category, (sums.get(line.item.category) ?? 0) + line.amount);
    itemCount += line.quantity;
  }
  /** @type {TaxCategory[]} */
  const order = ["standard", "reduced"];
  const byRate = order
    .filter((category) => sums.has(category))
    .map((category) => {
      const amount = sums.get(category) ?? 0;
      const rate = TAX_RATES[category];
      return { category, rate, amount, tax: Math.floor((amount * rate) / (100 + rate)) };
    });
  const total = byRate.reduce((sum, r) => sum + r.amount, 0);
  const tax = byRate.reduce((sum, r) => sum + r.tax, 0);
  return { total, tax, net: total - tax, itemCount, byRate };
}

const yen = new Intl.NumberFormat("en-US", { style: "currency", currency: "JPY" });

/**
 * @param {number} amount yen
 * @returns {string}
 */
export function formatYen(amount) {
  if (!Number.isSafeInteger(amount)) throw new RangeError(`not a yen amount: ${amount}`);
  return yen.format(amount);
}
