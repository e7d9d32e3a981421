import { execFileSync } from "node:child_process";
import { renderRuntimeScript } from "../../../../components/runtime/runtime";
import { contract, runtimeSpec, itIsASoundHostScript, variable } from "../../../support/hostSpecs";

describe("runtime script", () => {
  const script = renderRuntimeScript(runtimeSpec);

  itIsASoundHostScript(() => script);

  it("refuses an unknown action", () => {
    expect(() => execFileSync("bash", ["-c", script, "runtime", "explode"], { encoding: "utf8", stdio: "pipe" })).toThrow(/usage: runtime.sh/);
  });

  it("carries the host contract's names and paths as shell variables", () => {
    expect(variable(script, "DB_VOLUME")).toBe(contract.dbVolume);
    expect(variable(script, "ENV_LABEL")).toBe("permacoop.env=prod");
    expect(variable(script, "BACKUPS_DIR")).toBe(".permacoop/prod/backups");
    expect(variable(script, "CERT_DOMAINS")).toBe("permacoop.example.org www.example.org");
    expect(variable(script, "SERVICE_PROBES")).toBe("app=3000/healthz api=4000/health");
  });

  it("matches the snapshot", () => {
    expect(script).toMatchSnapshot();
  });
});
