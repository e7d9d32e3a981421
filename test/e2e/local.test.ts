import { execFileSync, spawn } from "node:child_process";
import { readdirSync, readFileSync } from "node:fs";
import { homedir } from "node:os";
import { join } from "node:path";
import { dockerObjects, httpGet } from "./harness";
import { APP_IMAGE, environmentLifecycle, prepareImages } from "./lifecycle";

beforeAll(() => prepareImages());

const ENV = "e2elocal";

describe("local environment on this machine's Docker engine", () => {
  environmentLifecycle({
    env: ENV,
    host: (httpPort) => ({ kind: "local", httpPort }),
    more: ({ test, httpPort, setService, contract }) => {
      it("schedules the daily pg_dump in the crontab; the scheduled line works, keeps the newest 7 and prunes older expired ones", () => {
        const crontab = execFileSync("crontab", ["-l"], { encoding: "utf8" });
        const names = contract();
        const line = crontab.split("\n").find((l) => l.endsWith(`${names.crontabTag}backup`));
        expect(line).toMatch(new RegExp(`^\\d+ 3 \\* \\* \\* bash \\S+/${names.paths.runtime.replace(/\./g, "\\.")} backup daily >>`));
        const backups = join(homedir(), names.paths.backups);
        // Eight daily dumps from 8 to 15 days ago (a week when the dumps had stopped), and an old on-demand one.
        const old = [8, 9, 10, 11, 12, 13, 14, 15].map((days) => ({ days, name: `${ENV}-200001${String(days).padStart(2, "0")}T030000Z-daily.dump` }));
        for (const { days, name } of old) execFileSync("bash", ["-c", `touch -d '${days} days ago' ${join(backups, name)}`]);
        execFileSync("bash", ["-c", `touch -d '30 days ago' ${join(backups, `${ENV}-20000101T030000Z.dump`)}`]);

        execFileSync("bash", ["-c", line!.split(" ").slice(5).join(" ")]); // the command cron runs
        const daily = readdirSync(backups).filter((f) => f.endsWith("-daily.dump"));
        expect(daily).toHaveLength(7); // the new one and the six newest old ones: never fewer than the retention
        expect(daily.filter((f) => !f.startsWith(`${ENV}-2000`))).toHaveLength(1);
        for (const { days, name } of old) expect(daily.includes(name)).toBe(days <= 13);
        expect(readdirSync(backups)).toContain(`${ENV}-20000101T030000Z.dump`); // on demand: never pruned
        expect(readFileSync(join(homedir(), names.paths.state, "backup.log"), "utf8")).toMatch(/pruned e2elocal-20000115T030000Z-daily\.dump/);
      });

      it("a protected database refuses `pulumi destroy`, and nothing is touched", async () => {
        const stack = test().stack;
        await stack.setConfig("permacoop:database", { value: JSON.stringify({ kind: "container", protect: true }) });
        expect((await stack.up({ color: "never" })).summary.result).toBe("succeeded");
        const names = contract();
        const before = dockerObjects("ps -a", names.envLabel);

        await expect(stack.destroy({ color: "never" })).rejects.toThrow(/protected/);
        expect(dockerObjects("ps -a", names.envLabel)).toEqual(before);
        expect(dockerObjects("volume ls", names.envLabel)).toContain(names.dbVolume);
        expect((await httpGet(`http://127.0.0.1:${httpPort()}/`)).status).toBe(200);

        // Decommissioning is a decision in the config, then an up: the data can go.
        await stack.setConfig("permacoop:database", { value: JSON.stringify({ kind: "container", protect: false }) });
        expect((await stack.up({ color: "never" })).summary.result).toBe("succeeded");
      });

      it("a second `up` while one runs fails at once on the backend's lock; the first completes", async () => {
        const t = test();
        await setService({ image: `${APP_IMAGE}:v2`, env: { APP_VERSION: "v6" } });
        const up = (collect: (text: string) => void) => {
          const child = spawn("pulumi", ["up", "--yes", "--skip-preview", "--stack", ENV, "--color", "never"], {
            cwd: t.workDir,
            env: { ...process.env, ...t.pulumiCliEnv },
            stdio: ["ignore", "pipe", "pipe"],
          });
          child.stdout.on("data", (chunk: Buffer) => collect(chunk.toString()));
          child.stderr.on("data", (chunk: Buffer) => collect(chunk.toString()));
          return new Promise<number>((resolve) => child.on("exit", (code) => resolve(code ?? 1)));
        };
        let first = "";
        const firstDone = up((text) => (first += text));
        // The first holds the lock once it reports its first resource.
        const deadline = Date.now() + 120_000;
        while (!/pulumi:pulumi:Stack/.test(first)) {
          if (Date.now() > deadline) throw new Error(`the first up never started:\n${first}`);
          await new Promise((resolve) => setTimeout(resolve, 50));
        }
        try {
          // The file backend can hand a reader the checkpoint the first up is writing at that very
          // moment ("failed to load checkpoint: EOF", the engine's, before any lock): read again.
          let second = "";
          let secondCode = 0;
          for (let attempt = 0; attempt < 5; attempt++) {
            second = "";
            secondCode = await up((text) => (second += text));
            if (!/failed to load checkpoint: EOF/.test(second)) break;
            await new Promise((resolve) => setTimeout(resolve, 200));
          }
          expect(secondCode).not.toBe(0);
          expect(second).toMatch(/the stack is currently locked by 1 lock\(s\)/);
        } finally {
          // Whatever the second saw, the first finishes before the next scenario starts.
          expect(await firstDone).toBe(0);
        }
        expect((await httpGet(`http://127.0.0.1:${httpPort()}/`)).body).toContain("version v6");
      });
    },
  });
});
