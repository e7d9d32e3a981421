/** Unit tests: Pulumi mocks and pure renderers; need neither Docker nor the Pulumi CLI. */
module.exports = {
  preset: "ts-jest",
  testEnvironment: "node",
  testEnvironmentOptions: { globalsCleanup: "off" },
  roots: ["<rootDir>/test/unit"],
  testTimeout: 30000,
  transform: { "^.+\\.ts$": ["ts-jest", { diagnostics: false }] },
};
