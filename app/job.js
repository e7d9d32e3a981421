// The reference app's scheduled job (`node job.js [SECONDS]`, what a nightly report is to an
// app): records each run in `job_runs` with the version that ran it, after SECONDS (default 0),
// so a test can count runs and see one at a time.
"use strict";
const { Client } = require("pg");
const { databaseSettings } = require("./db");

async function main() {
  const version = process.env.APP_VERSION || "dev";
  const seconds = Number(process.argv[2] || 0);
  console.log(`job started by version ${version}`);
  await new Promise((resolve) => setTimeout(resolve, seconds * 1000));
  const client = new Client({ ...databaseSettings(), connectionTimeoutMillis: 5000 });
  await client.connect();
  try {
    await client.query("CREATE TABLE IF NOT EXISTS job_runs (id bigserial PRIMARY KEY, version text NOT NULL, at timestamptz NOT NULL DEFAULT now())");
    const { rows } = await client.query("INSERT INTO job_runs (version) VALUES ($1) RETURNING id", [version]);
    console.log(`job ran: run #${rows[0].id} by version ${version}`);
  } finally {
    await client.end();
  }
}

main().catch((error) => {
  console.error(`job failed: ${error.message}`);
  process.exitCode = 1;
});
