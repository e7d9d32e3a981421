import { containerVariables, serviceVariables } from "../../../../components/accessories/containerAccessories";
import { accessoryEnvPrefix, accessoryVariables } from "../../../../components/config/rules";
import { accessorySchema, AccessoryConfig } from "../../../../components/config/schema";

const parse = (input: unknown) => accessorySchema.parse(input) as AccessoryConfig;
const ACCESSORIES = [
  parse({ name: "files", type: "s3" }),
  parse({ name: "media", type: "s3", bucket: "media-bucket", envPrefix: "MEDIA" }),
  parse({ name: "cache", type: "redis" }),
  parse({ name: "search-engine", type: "generic", image: "getmeili/meilisearch:v1.10", port: 7700, dataPath: "/meili_data", passwordEnv: "MEILI_MASTER_KEY" }),
  parse({ name: "mail", type: "generic", image: "axllent/mailpit:v1.20", port: 1025, dataPath: "/data", env: { MP_MAX_MESSAGES: "500" } }),
];

describe("accessories' variables", () => {
  it.each(ACCESSORIES.map((a) => [a.name, a] as const))(
    "%s: the services receive the variables the config rules reserve (a container Redis has no CA)",
    (_name, accessory) => {
      const received = Object.keys(serviceVariables(accessory, "pc-x-acc-name", "pw")).map((key) => `${accessoryEnvPrefix(accessory)}_${key}`);
      expect(accessoryVariables(accessory)).toEqual(expect.arrayContaining(received));
      expect(received.length).toBeGreaterThanOrEqual(accessoryVariables(accessory).length - (accessory.type === "redis" ? 1 : 0));
    },
  );

  it("hands the services what each type needs to connect, the password included", () => {
    expect(serviceVariables(ACCESSORIES[0]!, "pc-x-acc-files", "pw")).toEqual({
      ENDPOINT: "http://pc-x-acc-files:9000",
      BUCKET: "files",
      ACCESS_KEY_ID: "permacoop",
      SECRET_ACCESS_KEY: "pw",
      REGION: "us-east-1",
    });
    expect(serviceVariables(ACCESSORIES[1]!, "h", "pw").BUCKET).toBe("media-bucket");
    expect(accessoryVariables(ACCESSORIES[1]!)).toContain("MEDIA_ENDPOINT");
    expect(serviceVariables(ACCESSORIES[2]!, "pc-x-acc-cache", "pw")).toEqual({ URL: "redis://:pw@pc-x-acc-cache:6379/0" });
    expect(accessoryVariables(ACCESSORIES[3]!)).toEqual(["SEARCH_ENGINE_HOST", "SEARCH_ENGINE_PORT", "SEARCH_ENGINE_PASSWORD"]);
    expect(serviceVariables(ACCESSORIES[4]!, "h", "pw")).toEqual({ HOST: "h", PORT: "1025" });
  });

  it("starts each container with its password in its environment (the env file), never elsewhere", () => {
    expect(containerVariables(ACCESSORIES[0]!, "pw")).toEqual({ MINIO_ROOT_USER: "permacoop", MINIO_ROOT_PASSWORD: "pw" });
    expect(containerVariables(ACCESSORIES[2]!, "pw")).toEqual({ REDIS_PASSWORD: "pw" });
    expect(containerVariables(ACCESSORIES[3]!, "pw")).toEqual({ MEILI_MASTER_KEY: "pw" });
    expect(containerVariables(ACCESSORIES[4]!, "pw")).toEqual({ MP_MAX_MESSAGES: "500" });
  });
});
