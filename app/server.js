// Reference app: shows its version and a database round trip; /healthz checks the database.
"use strict";
const http = require("node:http");
const { Pool } = require("pg");
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

const server = http.createServer(async (req, res) => {
  try {
    if (req.url === "/version") {
      res.writeHead(200, { "content-type": "text/plain" }).end(`${version}\n`);
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

ready()
  .catch((error) => console.error(`database not ready yet: ${error.message}`))
  .finally(() => server.listen(port, () => console.log(`reference app ${version} listening on ${port}`)));

// Finish in-flight requests on docker stop, then exit.
process.on("SIGTERM", () => {
  server.close(() => pool.end().finally(() => process.exit(0)));
  setTimeout(() => process.exit(0), 8000).unref();
});
