/** End-to-end tests: the real Pulumi engine (tools/toolchain.sh) against a local Docker engine. */
module.exports = {
  preset: "ts-jest",
  testEnvironment: "node",
  testEnvironmentOptions: { globalsCleanup: "off" },
  roots: ["<rootDir>/test/e2e"],
  testTimeout: 20 * 60 * 1000,
  transform: { "^.+\\.ts$": ["ts-jest", { diagnostics: false }] },
};
