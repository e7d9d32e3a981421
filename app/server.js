// Reference app: shows its version and a database round trip; /healthz checks the database;
// /accessories does a round trip through the stack's Redis and S3 accessories.
"use strict";
const crypto = require("node:crypto");
const http = require("node:http");
const os = require("node:os");
const { Pool } = require("pg");
const { createClient } = require("redis");
const { S3Client, GetObjectCommand, PutObjectCommand } = require("@aws-sdk/client-s3");
const { databaseSettings } = require("./db");

const version = process.env.APP_VERSION || "dev";
// A careless app logs its whole environment, secrets included: the deploy log must mask them.
if (process.env.DEBUG_ENV === "1") console.log(`environment: ${JSON.stringify(process.env)}`);
const port = Number(process.env.PORT || 3000);
const pool = new Pool({
  ...databaseSettings(),
  max: 10,
  connectionTimeoutMillis: 2000,
});

async function ready() {
  await pool.query("CREATE TABLE IF NOT EXISTS visits (id bigserial PRIMARY KEY, version text NOT NULL, at timestamptz NOT NULL DEFAULT now())");
}

// The accessories, when the stack declares them: Redis (REDIS_URL) and an S3 bucket (S3_*).
let redisClient;
async function redis() {
  if (!process.env.REDIS_URL) return undefined;
  if (!redisClient) {
    const client = createClient({ url: process.env.REDIS_URL, socket: { connectTimeout: 2000, reconnectStrategy: 500 } });
    client.on("error", () => {}); // reconnects by itself; a request meanwhile fails with its own error
    await client.connect();
    redisClient = client;
  }
  return redisClient;
}
const s3 = process.env.S3_ENDPOINT
  ? new S3Client({
      endpoint: process.env.S3_ENDPOINT,
      region: process.env.S3_REGION,
      forcePathStyle: true,
      credentials: { accessKeyId: process.env.S3_ACCESS_KEY_ID, secretAccessKey: process.env.S3_SECRET_ACCESS_KEY },
      requestChecksumCalculation: "WHEN_REQUIRED",
    })
  : undefined;

async function s3Read(key) {
  try {
    const object = await s3.send(new GetObjectCommand({ Bucket: process.env.S3_BUCKET, Key: key }));
    return await object.Body.transformToString();
  } catch (error) {
    if (error.name === "NoSuchKey") return null;
    throw error;
  }
}

// /accessories?key=K[&value=V]: writes V under K in Redis and as object K of the bucket (with a
// value), then reads both back: {"redis": …, "s3": …} (null for a missing key, absent without the accessory).
async function accessories(url) {
  const params = new URL(url, "http://app").searchParams;
  const key = params.get("key") || "probe";
  const value = params.get("value");
  const answer = {};
  const client = await redis();
  if (client) {
    if (value !== null) await client.set(key, value);
    answer.redis = await client.get(key);
  }
  if (s3) {
    if (value !== null) await s3.send(new PutObjectCommand({ Bucket: process.env.S3_BUCKET, Key: key, Body: value }));
    answer.s3 = await s3Read(key);
  }
  return answer;
}

const eventStreams = new Set();
const server = http.createServer(async (req, res) => {
  try {
    if (req.url === "/version") {
      res.writeHead(200, { "content-type": "text/plain" }).end(`${version}\n`);
      return;
    }
    // Which container answered (its host name): replicas show round robin.
    if (req.url === "/host") {
      res.writeHead(200, { "content-type": "text/plain" }).end(`${version} ${os.hostname()}\n`);
      return;
    }
    // A slow answer (a long report): /slow?seconds=N answers after N seconds.
    if (req.url.startsWith("/slow")) {
      const seconds = Number(new URL(req.url, "http://app").searchParams.get("seconds") || 1);
      await new Promise((resolve) => setTimeout(resolve, seconds * 1000));
      res.writeHead(200, { "content-type": "text/plain" }).end(`${version} slow ${seconds}\n`);
      return;
    }
    // The request's URI as the app received it (a route that strips its prefix shows here).
    if (req.url.startsWith("/uri")) {
      // An upload's body is read to its end before the answer.
      await new Promise((resolve) => req.resume().on("end", resolve));
      res.writeHead(200, { "content-type": "text/plain" }).end(`${version} ${req.url}\n`);
      return;
    }
    // Server-sent events (a live feed): /events?every=MS sends "VERSION N" every MS milliseconds
    // until the client leaves or the app stops.
    if (req.url.startsWith("/events")) {
      const every = Number(new URL(req.url, "http://app").searchParams.get("every") || 500);
      res.writeHead(200, { "content-type": "text/event-stream", "cache-control": "no-cache" });
      let sent = 0;
      const timer = setInterval(() => res.write(`data: ${version} ${++sent}\n\n`), every);
      eventStreams.add(res);
      res.on("close", () => {
        clearInterval(timer);
        eventStreams.delete(res);
      });
      return;
    }
    if (req.url.startsWith("/accessories")) {
      res.writeHead(200, { "content-type": "application/json" }).end(`${JSON.stringify(await accessories(req.url))}\n`);
      return;
    }
    if (req.url === "/healthz") {
      if (process.env.FAIL_HEALTH === "1") throw new Error("FAIL_HEALTH=1: reporting unhealthy on purpose");
      await pool.query("SELECT 1");
      res.writeHead(200, { "content-type": "text/plain" }).end("ok\n");
      return;
    }
    // One write and one read per page, in constant time (a count(*) would grow with the table).
    const { rows } = await pool.query("INSERT INTO visits (version) VALUES ($1) RETURNING id", [version]);
    const first = await pool.query("SELECT min(id) AS id FROM visits");
    res.writeHead(200, { "content-type": "text/html; charset=utf-8" });
    res.end(
      `<!doctype html><title>Permacoop reference app</title><h1>version ${version}</h1><p>database round trip: visit #${rows[0].id} (first visit #${first.rows[0].id})</p>\n`,
    );
  } catch (error) {
    res.writeHead(503, { "content-type": "text/plain" }).end(`unavailable: ${error.message}\n`);
  }
});

// A WebSocket echo on /ws (what a Hotwire or socket.io app keeps open): each text frame comes
// back prefixed with the version that answered. Frames up to 125 bytes, enough for the tests.
const webSockets = new Set();
server.on("upgrade", (req, socket) => {
  const key = req.headers["sec-websocket-key"];
  if (!req.url.endsWith("/ws") || req.headers.upgrade?.toLowerCase() !== "websocket" || !key) {
    socket.end("HTTP/1.1 400 Bad Request\r\n\r\n");
    return;
  }
  const accept = crypto.createHash("sha1").update(`${key}258EAFA5-E914-47DA-95CA-C5AB0DC85B11`).digest("base64");
  socket.write(`HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: ${accept}\r\n\r\n`);
  webSockets.add(socket);
  socket.on("close", () => webSockets.delete(socket));
  socket.on("error", () => socket.destroy());
  let pending = Buffer.alloc(0);
  socket.on("data", (chunk) => {
    pending = Buffer.concat([pending, chunk]);
    while (pending.length >= 6) {
      const opcode = pending[0] & 0x0f;
      const length = pending[1] & 0x7f;
      if (length > 125 || pending.length < 6 + length) break;
      const mask = pending.subarray(2, 6);
      const payload = Buffer.from(pending.subarray(6, 6 + length).map((byte, i) => byte ^ mask[i % 4]));
      pending = pending.subarray(6 + length);
      if (opcode === 0x8) {
        socket.end(Buffer.from([0x88, 0]));
        return;
      }
      const reply = Buffer.from(`${version} ${payload.toString()}`);
      socket.write(Buffer.concat([Buffer.from([0x81, reply.length]), reply]));
    }
  });
});

ready()
  .catch((error) => console.error(`database not ready yet: ${error.message}`))
  .finally(() => server.listen(port, () => console.log(`reference app ${version} listening on ${port}`)));

// Finish in-flight requests on docker stop, then exit.
process.on("SIGTERM", () => {
  // Open WebSockets get a close frame: their clients reconnect (to the new version).
  for (const socket of webSockets) socket.end(Buffer.from([0x88, 0]));
  // Event streams end: their clients reconnect too (EventSource does by itself).
  for (const stream of eventStreams) stream.end();
  server.close(() => pool.end().finally(() => process.exit(0)));
  setTimeout(() => process.exit(0), 8000).unref();
});
