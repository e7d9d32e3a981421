// The reference app's release command (`node migrate.js`, what `make database-migrate` is to
// Permacoop): applies its schema once per version and records each run in `releases`, so a
// test can count them. MIGRATE_FAIL=1 makes it fail on purpose, after printing what it did.
"use strict";
const { Client } = require("pg");
const { databaseSettings } = require("./db");

async function main() {
  const version = process.env.APP_VERSION || "dev";
  const client = new Client({ ...databaseSettings(), connectionTimeoutMillis: 5000 });
  await client.connect();
  try {
    console.log(`migrating the schema for version ${version}`);
    await client.query("CREATE TABLE IF NOT EXISTS visits (id bigserial PRIMARY KEY, version text NOT NULL, at timestamptz NOT NULL DEFAULT now())");
    await client.query("CREATE TABLE IF NOT EXISTS releases (id bigserial PRIMARY KEY, version text NOT NULL, at timestamptz NOT NULL DEFAULT now())");
    if (process.env.MIGRATE_FAIL === "1") {
      console.error(`migration for version ${version} failed: MIGRATE_FAIL=1 (on purpose)`);
      process.exitCode = 3;
      return;
    }
    await client.query("INSERT INTO releases (version) VALUES ($1)", [version]);
    console.log(`migrated: version ${version} recorded in releases`);
  } finally {
    await client.end();
  }
}

main().catch((error) => {
  console.error(`migration failed: ${error.message}`);
  process.exitCode = 1;
});
