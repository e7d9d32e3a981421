import { execFileSync, spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

/** Runs a validator program; a missing program fails with the install command. */
function run(program: string, args: string[], install: string): { ok: boolean; output: string } {
  try {
    const result = spawnSync(program, args, { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] });
    if (result.error) throw result.error;
    return { ok: result.status === 0, output: `${result.stdout}${result.stderr}` };
  } catch (error) {
    if ((error as { code?: string }).code === "ENOENT") throw new Error(`${program} is not installed: ${install} (.ci/run does it)`);
    throw error;
  }
}

/** `cloud-init schema` on a user-data text. */
export function cloudInitSchema(userData: string): { ok: boolean; output: string } {
  const dir = mkdtempSync(join(tmpdir(), "cloud-init-"));
  const file = join(dir, "user-data");
  writeFileSync(file, userData);
  return run("cloud-init", ["schema", "--config-file", file], "apt-get install cloud-init");
}

/** `shellcheck` on a script text. */
export function shellcheck(script: string): { ok: boolean; output: string } {
  const dir = mkdtempSync(join(tmpdir(), "shellcheck-"));
  const file = join(dir, "script.sh");
  writeFileSync(file, script);
  return run("shellcheck", ["--shell=bash", file], "apt-get install shellcheck");
}

/**
 * `nginx -t` on server blocks (a conf.d file) inside a minimal main configuration, as the
 * official image includes conf.d. Writes nothing outside a temp dir.
 */
export function nginxTest(confD: string, extraFiles: Record<string, string> = {}): { ok: boolean; output: string } {
  const dir = mkdtempSync(join(tmpdir(), "nginx-t-"));
  for (const [name, content] of Object.entries(extraFiles)) {
    mkdirSync(join(dir, name, ".."), { recursive: true });
    writeFileSync(join(dir, name), content);
  }
  writeFileSync(join(dir, "site.conf"), confD);
  writeFileSync(
    join(dir, "nginx.conf"),
    [
      `pid ${dir}/nginx.pid;`,
      "error_log stderr;",
      "events {}",
      "http {",
      `    access_log off;`,
      `    client_body_temp_path ${dir}/body;`,
      `    proxy_temp_path ${dir}/proxy;`,
      `    include ${dir}/site.conf;`,
      "}",
      "",
    ].join("\n"),
  );
  return run("nginx", ["-t", "-e", "stderr", "-p", dir, "-c", join(dir, "nginx.conf")], "apt-get install nginx");
}

/** A self-signed certificate for `hostname` (openssl), as fullchain.pem / privkey.pem contents. */
export function selfSignedCertificate(hostname: string): { fullchain: string; privkey: string } {
  const dir = mkdtempSync(join(tmpdir(), "cert-"));
  run("openssl", [], "apt-get install openssl");
  execFileSync(
    "openssl",
    [
      "req",
      "-x509",
      "-newkey",
      "rsa:2048",
      "-nodes",
      "-days",
      "1",
      "-subj",
      `/CN=${hostname}`,
      "-keyout",
      join(dir, "privkey.pem"),
      "-out",
      join(dir, "fullchain.pem"),
    ],
    { stdio: "ignore" },
  );
  const read = (name: string) => execFileSync("cat", [join(dir, name)], { encoding: "utf8" });
  return { fullchain: read("fullchain.pem"), privkey: read("privkey.pem") };
}

/** `haproxy -c` on a global section and service files, loaded as the switch loads them (-f file -f dir). */
export function haproxyCheck(global: string, services: Record<string, string>): { ok: boolean; output: string } {
  const dir = mkdtempSync(join(tmpdir(), "haproxy-c-"));
  mkdirSync(join(dir, "conf.d"));
  writeFileSync(join(dir, "global.cfg"), global);
  for (const [name, content] of Object.entries(services)) writeFileSync(join(dir, "conf.d", `${name}.cfg`), content);
  return run("haproxy", ["-c", "-f", join(dir, "global.cfg"), "-f", join(dir, "conf.d")], "apt-get install haproxy");
}
