/**
 * Kept so the tests that import "./harness" need no edit: the mocks harness is
 * test/support/mocks.ts (import it from there).
 */
export * from "../support/mocks";
