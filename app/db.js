// The database settings the program hands every service (DATABASE_*), shared by the server and
// the release command.
"use strict";

module.exports.databaseSettings = () => ({
  host: process.env.DATABASE_HOST,
  port: Number(process.env.DATABASE_PORT || 5432),
  user: process.env.DATABASE_USERNAME,
  password: process.env.DATABASE_PASSWORD,
  database: process.env.DATABASE_NAME,
});
