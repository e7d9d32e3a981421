import { execFileSync, spawnSync } from "node:child_process";
import { PROJECT_DIR } from "../support/stackFiles";
import { dockerObjects, httpGet } from "./harness";

// The README's commands, as a newcomer runs them: twice, then down. They never rewrite a tracked file.
const trackedChanges = () => execFileSync("git", ["status", "--porcelain", "--untracked-files=no"], { cwd: PROJECT_DIR, encoding: "utf8" });
const trackedBefore = trackedChanges(); // "" on a clean clone (CI); whatever a work tree has otherwise
function npmRun(script: string, ...args: string[]): string {
  return execFileSync("npm", ["run", "--silent", script, ...(args.length ? ["--", ...args] : [])], {
    cwd: PROJECT_DIR,
    encoding: "utf8",
    stdio: ["ignore", "pipe", "pipe"],
    env: { ...process.env, PULUMI_CONFIG_PASSPHRASE: "" },
  });
}

describe("npm run local / npm run local:down", () => {
  // The environment's id on this engine (its names carry it): read from what publishes the URL's port.
  let id = "";
  const label = () => `permacoop.env=${id}`;

  afterAll(() => {
    try {
      npmRun("local:down");
    } catch {
      // already down
    }
  });

  it("deploys the local environment and prints its URL", async () => {
    const output = npmRun("local");
    expect(output).toMatch(/\+ {2}\d+ created|created/);
    id = execFileSync("docker", ["ps", "--filter", "publish=8080", "--format", '{{.Label "permacoop.env"}}'], { encoding: "utf8" }).trim();
    expect(id).toMatch(/^local(-[0-9a-f]{8})?$/); // the stack's name and its id (alone for an environment deployed before ids)
    const page = await httpGet("http://127.0.0.1:8080/");
    expect(page.status).toBe(200);
    expect(page.body).toContain("version local");
  });

  it("a second run changes nothing", async () => {
    expect(trackedChanges()).toBe(trackedBefore);
    const output = npmRun("local");
    expect(output).not.toMatch(/\d+ (created|updated|replaced|deleted)/);
    expect((await httpGet("http://127.0.0.1:8080/")).status).toBe(200);
  });

  it("local:down --keep-data keeps the database volume, and the next run finds the data", async () => {
    const firstVisit = (body: string) => Number(/first visit #(\d+)/.exec(body)?.[1]);
    const lastVisit = (body: string) => Number(/visit #(\d+) \(/.exec(body)?.[1]);
    const before = (await httpGet("http://127.0.0.1:8080/")).body;
    npmRun("local:down", "--keep-data");
    expect(dockerObjects("ps -a", label())).toEqual([]);
    expect(dockerObjects("volume ls", label())).toEqual([`pc-${id}-pgdata`]);
    npmRun("local"); // a new stack id: it adopts the kept environment, under its names
    const after = (await httpGet("http://127.0.0.1:8080/")).body;
    expect(firstVisit(after)).toBe(firstVisit(before)); // the same rows: the data survived
    expect(lastVisit(after)).toBeGreaterThan(lastVisit(before));
  });

  it("local:down removes every container, network and volume", () => {
    npmRun("local:down");
    expect(dockerObjects("ps -a", label())).toEqual([]);
    expect(dockerObjects("network ls", label())).toEqual([]);
    expect(dockerObjects("volume ls", label())).toEqual([]);
  });
});

describe("npm run vm / npm run vm:down", () => {
  const url = "http://10.231.9.2/";
  afterAll(() => {
    try {
      npmRun("vm:down");
    } catch {
      // already down
    }
  });

  it("boots a VM from prod's cloud-init, deploys the reference app to it over SSH and prints its URL", async () => {
    const run = spawnSync("npm", ["run", "--silent", "vm"], { cwd: PROJECT_DIR, encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] });
    expect(run.status).toBe(0);
    expect(run.stderr).toContain("[vm] serving at http://10.231.9.2 ");
    const page = await httpGet(url);
    expect(page.status).toBe(200);
    expect(page.body).toContain("version vm");
    expect(trackedChanges()).toBe(trackedBefore);
  });

  it("vm:down removes the VM", () => {
    npmRun("vm:down");
    expect(execFileSync("ip", ["netns", "list"], { encoding: "utf8" })).not.toContain("pc-vm-vmvm");
    expect(execFileSync("ip", ["-o", "-4", "addr", "show"], { encoding: "utf8" })).not.toContain("10.231.9.1/");
  });
});
