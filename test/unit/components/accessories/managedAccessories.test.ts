import * as pulumi from "@pulumi/pulumi";
import { Environment } from "../../../../components/environment";
import { OBJECT_PERMISSION_SETS } from "../../../../components/accessories/managedAccessories";
import { ScalewayContainerHost } from "../../../../components/host/scalewayContainers";
import { ScalewayVmHost } from "../../../../components/host/scalewayVm";
import { SERVERLESS_SECRETS, SERVERLESS_STACK, serverlessConfigInput } from "../../../support/serverlessStack";
import { Declared, installMocks, parse, recorder, validConfigInput, valueOf } from "../../../support/mocks";

type Mutable = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

const ACCESSORIES = [
  { name: "files", type: "s3" },
  { name: "cache", type: "redis" },
];

beforeAll(() => installMocks("staging"));
// The serverless sample stack builds an image: its push needs the API key (a dummy here).
const savedKey = process.env.SCW_SECRET_KEY;
beforeEach(() => (process.env.SCW_SECRET_KEY = "11111111-1111-1111-1111-111111111111"));
afterAll(() => (savedKey === undefined ? delete process.env.SCW_SECRET_KEY : (process.env.SCW_SECRET_KEY = savedKey)));

/** The Environment of a stack with `accessories`, what it declared, and the services' variables. */
async function build(kind: "scaleway-vm" | "scaleway-container", stack: string, accessories: unknown[] = ACCESSORIES) {
  const declared: Declared[] = [];
  const input = (kind === "scaleway-vm" ? validConfigInput() : serverlessConfigInput()) as Mutable;
  input.accessories = accessories;
  const secretValues: Record<string, string> = kind === "scaleway-vm" ? { calendarToken: "calendar-token-value" } : SERVERLESS_SECRETS;
  const config = parse(input, secretValues, stack);
  const secrets = Object.fromEntries(Object.entries(secretValues).map(([key, value]) => [key, pulumi.secret(value)]));
  const env = new Environment(stack, { name: stack, config, secrets }, { transformations: [recorder(declared)] });
  const host = env.host as ScalewayVmHost | ScalewayContainerHost;
  const vars = await valueOf(env.serviceEnv.app!);
  await valueOf(host.accessoryEnv ?? pulumi.output({}));
  const ofType = (type: string) => declared.filter((d) => d.type === type);
  return { env, declared, ofType, vars, secret: await pulumi.isSecret(env.serviceEnv.app!) };
}

describe("accessories on Scaleway hosts: Scaleway's Object Storage and Managed Redis", () => {
  it("scaleway-vm: a versioned bucket with a key of its own, and Redis over TLS whose ACL admits the VM alone", async () => {
    const { ofType, vars, secret } = await build("scaleway-vm", "staging");
    const [bucket] = ofType("scaleway:object/bucket:Bucket");
    expect(bucket!.props).toMatchObject({ region: "fr-par", versioning: { enabled: true } });
    expect(await valueOf(bucket!.props.name as pulumi.Input<string>)).toMatch(/^staging-files-[0-9a-f]+$/);
    const [policy] = ofType("scaleway:iam/policy:Policy").filter((p) => String(p.props.name).endsWith("-files"));
    expect(await valueOf(policy!.props.rules as pulumi.Input<unknown>)).toEqual([
      { projectIds: ["11111111-2222-3333-4444-555555555555"], permissionSetNames: OBJECT_PERMISSION_SETS },
    ]);
    const [cluster] = ofType("scaleway:redis/cluster:Cluster");
    expect(cluster!.props).toMatchObject({ zone: "fr-par-1", nodeType: "RED1-MICRO", version: "7.0.5", tlsEnabled: true, clusterSize: 1 });
    expect(bucket!.props.forceDestroy).toBe(true); // staging is not protected: destroy empties it
    expect(await valueOf(cluster!.props.acls as pulumi.Input<unknown>)).toEqual([{ ip: "203.0.113.10/32", description: "staging host only" }]);
    expect(cluster!.props.privateNetworks).toBeUndefined();
    // No container of ours for them: no runtime step, no volume.
    expect(ofType("command:remote:Command").filter((c) => c.name.includes("-accessory-"))).toEqual([]);
    expect(secret).toBe(true);
    expect(vars).toMatchObject({
      S3_ENDPOINT: "https://s3.fr-par.scw.cloud",
      S3_BUCKET: expect.stringMatching(/^staging-files-/),
      S3_ACCESS_KEY_ID: "SCWACCESSKEYMOCK0000",
      S3_SECRET_ACCESS_KEY: expect.stringMatching(/^mock-secret-key-of-/),
      S3_REGION: "fr-par",
      REDIS_URL: "rediss://permacoop:pw-staging-accessories-cache-password@198.51.100.30:6379",
      REDIS_CA_CERT_BASE64: Buffer.from("-----BEGIN CERTIFICATE-----\nmock\n-----END CERTIFICATE-----\n").toString("base64"),
    });
  });

  it("scaleway-container: Redis on the environment's Private Network only", async () => {
    const { ofType, vars } = await build("scaleway-container", SERVERLESS_STACK);
    const [cluster] = ofType("scaleway:redis/cluster:Cluster");
    expect(cluster!.props.acls).toBeUndefined();
    // The environment's Private Network (the mocks' id is the resource's name + "-id"), the database's too.
    const [network] = ofType("scaleway:network/privateNetwork:PrivateNetwork");
    expect(await valueOf(cluster!.props.privateNetworks as pulumi.Input<{ id: string }[]>)).toEqual([{ id: `${network!.name}-id` }]);
    expect(vars.REDIS_URL).toMatch(/^rediss:\/\/permacoop:[^@]+@172\.16\.0\.3:6379$/);
  });

  it("protects them with the data: on prod, destroy is refused", async () => {
    const { ofType } = await build("scaleway-vm", "prod");
    for (const type of ["scaleway:object/bucket:Bucket", "scaleway:redis/cluster:Cluster"]) expect(ofType(type)[0]!.opts.protect).toBe(true);
  });

  it("a generic accessory on a scaleway-vm runs in a container of ours beside the managed ones", async () => {
    const { ofType, vars } = await build("scaleway-vm", "staging", [
      ...ACCESSORIES,
      { name: "search", type: "generic", image: "getmeili/meilisearch:v1.10", port: 7700, dataPath: "/meili_data" },
    ]);
    expect(
      ofType("command:remote:Command")
        .filter((c) => c.name.includes("-accessory-"))
        .map((c) => c.name),
    ).toEqual(["staging-runtime-accessory-search"]);
    expect(vars).toMatchObject({ SEARCH_PORT: "7700", REDIS_URL: expect.stringMatching(/^rediss:/) });
  });
});
