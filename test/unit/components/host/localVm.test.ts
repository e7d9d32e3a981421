import * as pulumi from "@pulumi/pulumi";
import { Environment } from "../../../../components/environment";
import { LocalVmHost, localVmName } from "../../../../components/host/localVm";
import { Declared, installMocks, parse, recorder, valueOf } from "../../../support/mocks";

beforeAll(() => installMocks());

async function build() {
  jest.spyOn(process, "getuid").mockReturnValue(0);
  const declared: Declared[] = [];
  const config = parse(
    {
      host: { kind: "local-vm", slot: 8 },
      database: { kind: "container" },
      dns: { provider: "none", hostnames: ["localhost"] },
      tls: { enabled: false },
      services: [{ name: "app", image: "permacoop/reference-app-e2e:v2", port: 3000 }],
    },
    {},
    "dev",
  );
  const env = new Environment("dev", { name: "dev", config, secrets: {} }, { transformations: [recorder(declared)] });
  await valueOf(env.serviceEnv.app!);
  const byName = (name: string) => declared.find((d) => d.name === name)!;
  return { env, declared, byName };
}

describe("local-vm host", () => {
  it("boots a VM on this machine from the user data a Scaleway VM gets, on stdin, and replaces it when that changes", async () => {
    const { byName } = await build();
    const vm = byName("dev-host-vm");
    expect(vm.type).toBe("command:local:Command");
    expect(vm.props.create).toMatch(/vm-hosts\.sh' up vmdev 8 "\$f"/);
    expect(vm.props.delete).toMatch(/vm-hosts\.sh' down vmdev$/);
    const userData = vm.props.stdin as pulumi.Output<string>;
    expect(await pulumi.isSecret(userData)).toBe(true);
    expect(await valueOf(userData)).toMatch(/^#cloud-config\n[\s\S]*ed25519_private: \|?-?\s*-----BEGIN OPENSSH PRIVATE KEY-----/);
    expect((vm.opts as pulumi.CustomResourceOptions).deleteBeforeReplace).toBe(true);
    expect(await valueOf((vm.props.triggers as pulumi.Input<string>[])[0]!)).toMatch(/^[0-9a-f]{64}$/);
  });

  it("waits for cloud-init over SSH with the pinned key, copies the images in, and names the VM in every host step", async () => {
    const { declared, byName } = await build();
    expect(byName("dev-host-cloud-init").type).toBe("command:remote:Command");
    expect(await valueOf(byName("dev-host-images").props.create as pulumi.Input<string>)).toMatch(
      /' load vmdev 'haproxy:lts' 'nginx:stable' 'permacoop\/reference-app-e2e:v2' 'postgres:16'$/,
    );
    const steps = declared.filter((d) => d.type === "command:remote:Command" && d.name.startsWith("dev-runtime-"));
    expect(steps.map((s) => s.name).sort()).toEqual([
      "dev-runtime-app-rollout",
      "dev-runtime-data",
      "dev-runtime-env-id",
      "dev-runtime-proxy",
      "dev-runtime-runtime",
      "dev-runtime-scripts",
    ]);
    for (const step of steps) expect(await valueOf(step.props.create as pulumi.Input<string>)).toMatch(/^: machine 'dev-host-vm-id'; /);
  });

  it("is served at the VM's own address and exports the SSH coordinates ops use", async () => {
    const { env } = await build();
    expect(env.url).toBe("http://10.231.8.2");
    const outputs = (env.host as LocalVmHost).outputs;
    expect(await valueOf(outputs.ssh!.host)).toBe("10.231.8.2");
    expect(await pulumi.isSecret(outputs.sshPrivateKey!)).toBe(true);
  });

  it("names the VM after the environment, as the script accepts", () => {
    expect(localVmName("review-pr-7")).toBe("vmreviewpr7");
    expect(localVmName("A-very-long-environment-name")).toMatch(/^[a-z][a-z0-9]{0,15}$/);
  });
});
