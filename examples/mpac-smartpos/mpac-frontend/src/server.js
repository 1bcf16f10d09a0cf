// @ts-check
// The console's HTTP server: "/" renders the order page, "/health" answers
// the load balancer.

import { createServer } from "node:http";
import { fileURLToPath } from "node:url";

import { parseOrder } from "./cart.js";
import { renderPage } from "./render.js";

export const SERVICE_NAME = "mpac-frontend";
export const DEFAULT_PORT = 3000;

/**
 * @param {import("node:http").ServerResponse} res
 * @param {number} status
 * @param {string} contentType
 * @param {string} body
 */
function send(res, status, contentType, body) {
  res.statusCode = status;
  res.setHeader("Content-Type", contentType);
  res.end(body);
}

/**
 * @param {import("node:http").IncomingMessage} req
 * @param {import("node:http").ServerResponse} res
 */
export function handle(req, res) {
  const url = new URL(req.url ?? "/", "http://localhost");
  if (req.method !== "GET" && req.method !== "HEAD") {
    res.setHeader("Allow", "GET, HEAD");
    send(res, 405, "text/plain; charset=utf-8", "method not allowed\n");
    return;
  }
  if (url.pathname === "/health") {
    send(res, 200, "application/json", JSON.stringify({ status: "ok", service: SERVICE_NAME }));
    return;
  }
  if (url.pathname !== "/") {
    send(res, 404, "text/plain; charset=utf-8", "not found\n");
    return;
  }
  try {
    const lines = parseOrder(url.searchParams.get("order") ?? "");
    send(res, 200, "text/html; charset=utf-8", renderPage({ lines }));
  } catch (err) {
    const message = err instanceof Error ? err.message : String(err);
    send(res, 400, "text/html; charset=utf-8", renderPage({ lines: [], error: message }));
  }
}

/**
 * @param {string | undefined} value the PORT environment variable
 * @returns {number}
 */
export function portFromEnv(value) {
  if (value === undefined || value === "") return DEFAULT_PORT;
  const port = Number(value);
  if (!Number.isInteger(port) || port < 1 || port > 65535) {
    throw new Error(`invalid PORT "${value}"`);
  }
  return port;
}

/**
 * @param {number} port
 * @param {string} [host]
 * @returns {Promise<import("node:http").Server>}
 */
export function start(port, host = "0.0.0.0") {
  return new Promise((resolve, reject) => {
    const server = createServer(handle);
    server.on("error", reject);
    server.listen(port, host, () => resolve(server));
  });
}

// Run directly (node src/server.js), not imported by the tests.
if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const port = portFromEnv(process.env.PORT);
  const server = await start(port);
  console.log(`${SERVICE_NAME} listening on :${port}`);
  const stop = () => server.close();
  process.on("SIGTERM", stop);
  process.on("SIGINT", stop);
}
