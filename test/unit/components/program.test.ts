import { spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { parse } from "yaml";
import { PROJECT_DIR } from "../../support/stackFiles";

const PROGRAM = join(PROJECT_DIR, "components", "program.js");

/**
 * Loads the program as the engine does (components/program.js, package.json's `main`) in a Node
 * process without a stack: the config check throws first, after every module is loaded. Returns
 * that error and which modules were loaded.
 */
function loadProgram(after = "") {
  const script = `
    let error;
    try { require(${JSON.stringify(PROGRAM)}); } catch (e) { error = e; }
    ${after}
    const loaded = (end) => Object.keys(require.cache).some((file) => file.endsWith(end));
    console.log(JSON.stringify({
      error: error && { name: error.constructor.name, stack: String(error.stack) },
      typescript: loaded("/typescript/lib/typescript.js"),
      tsNode: loaded("/ts-node/dist/index.js"),
      arborist: loaded("/@npmcli/arborist/lib/arborist/index.js"),
    }));`;
  const result = spawnSync(process.execPath, ["-e", script], { cwd: PROJECT_DIR, encoding: "utf8", env: { PATH: process.env.PATH } });
  expect(result.stderr).toBe("");
  return JSON.parse(result.stdout) as { error?: { name: string; stack: string }; typescript: boolean; tsNode: boolean; arborist: boolean };
}

describe("the program's entry point", () => {
  it("is package.json's main, and Pulumi.yaml names none (the program and the providers run in the project's directory)", () => {
    expect(JSON.parse(readFileSync(join(PROJECT_DIR, "package.json"), "utf8")).main).toBe("components/program.js");
    const project = parse(readFileSync(join(PROJECT_DIR, "Pulumi.yaml"), "utf8")) as { main?: string; runtime: { options: { typescript: boolean } } };
    expect(project.main).toBeUndefined();
    expect(project.runtime.options.typescript).toBe(false);
  });

  it("runs index.ts compiled by swc, without loading TypeScript, ts-node or npm's dependency walker", () => {
    const loaded = loadProgram();
    expect(loaded.error?.name).toBe("ConfigError");
    expect(loaded).toMatchObject({ typescript: false, tsNode: false, arborist: false });
  });

  it("maps stack traces into the TypeScript sources", () => {
    const source = readFileSync(join(PROJECT_DIR, "components", "config", "load.ts"), "utf8").split("\n");
    const line = source.findIndex((text) => text.includes("throw new ConfigError(")) + 1;
    expect(line).toBeGreaterThan(0);
    expect(loadProgram().error?.stack).toContain(`${join("components", "config", "load.ts")}:${line}:`);
  });

  it("loads a deferred module of the SDK when it is used", () => {
    const loaded = loadProgram(`
      const sdk = require("node:path").dirname(require.resolve("@pulumi/pulumi/package.json"));
      if (typeof require(require.resolve("@npmcli/arborist", { paths: [sdk] })).Arborist !== "function") throw new Error("no Arborist");`);
    expect(loaded.arborist).toBe(true);
  });
});
