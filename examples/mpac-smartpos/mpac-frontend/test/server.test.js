import assert from "node:assert/strict";
import { after, before, test } from "node:test";

import { DEFAULT_PORT, portFromEnv, start } from "../src/server.js";

/** @type {import("node:http").Server} */
let server;
let base = "";

before(async () => {
  server = await start(0, "127.0.0.1");
  base = `http://127.0.0.1:${server.address().port}`;
});

after(() => new Promise((resolve) => server.close(resolve)));

test("GET /health", async () => {
  const res = await fetch(`${base}/health`);
  assert.equal(res.status, 200);
  assert.equal(res.headers.get("content-type"), "application/json");
  assert.deepEqual(await res.json(), { status: "ok", service: "mpac-frontend" });
});

test("GET / renders the order", async () => {
  const res = await fetch(`${base}/?order=tote,latte-to-go:2`);
  assert.equal(res.status, 200);
  assert.match(res.headers.get("content-type"), /^text\/html/);
  assert.match(await res.text(), /Total \(3 items, tax included\): <strong>¥2,730<\/strong>/);
});

test("a bad order is a 400 page", async () => {
  const res = await fetch(`${base}/?order=caviar`);
  assert.equal(res.status, 400);
  assert.match(await res.text(), /unknown item &quot;caviar&quot;/);
});

test("unknown paths and methods", async () => {
  assert.equal((await fetch(`${base}/admin`)).status, 404);
  const post = await fetch(`${base}/`, { method: "POST" });
  assert.equal(post.status, 405);
  assert.equal(post.headers.get("allow"), "GET, HEAD");
  assert.equal((await fetch(`${base}/health`, { method: "HEAD" })).status, 200);
});

test("start rejects a port in use", async () => {
  await assert.rejects(start(server.address().port, "127.0.0.1"), /EADDRINUSE/);
});

test("portFromEnv", () => {
  assert.equal(portFromEnv(undefined), DEFAULT_PORT);
  assert.equal(portFromEnv(""), 3000);
  assert.equal(portFromEnv("8080"), 8080);
  assert.throws(() => portFromEnv("0"), /invalid PORT/);
  assert.throws(() => portFromEnv("3000.5"), /invalid PORT/);
  assert.throws(() => portFromEnv("web"), /invalid PORT/);
});
