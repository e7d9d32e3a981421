import { join } from "node:path";
import { plainProps, policies, viewOf } from "../../../policy/policies";
import { TYPES, UNKNOWN } from "../../../policy/rules";
import { urnOf } from "../../support/mocks";
import { PROJECT_DIR } from "../../support/stackFiles";

type Mutable = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

describe("the adapter to @pulumi/policy", () => {
  // The real proxy @pulumi/policy wraps properties in: reading an unknown value throws.
  const proxy = (() => {
    try {
      return require(require.resolve("@pulumi/policy/proxy", { paths: [join(PROJECT_DIR, "policy")] }));
    } catch (error) {
      throw new Error(`@pulumi/policy is not installed in policy/: run npm ci --prefix policy (${(error as Error).message})`);
    }
  })() as { unknownCheckingProxy<T>(value: T): T; unknownStringValue: string };

  it("copies properties, UNKNOWN where the engine does not know them yet", () => {
    const props = proxy.unknownCheckingProxy({ instanceId: "fr-par/1", aclRules: [{ ip: proxy.unknownStringValue, description: "host" }] });
    expect(() => props.aclRules[0]!.ip).toThrow(/can't be known during preview/);
    expect(plainProps(props)).toEqual({ instanceId: "fr-par/1", aclRules: [{ ip: UNKNOWN, description: "host" }] });
  });

  it("hands the engine's resources to the rules and reports on the resource at fault", () => {
    const instanceUrn = urnOf("prod", TYPES.dbInstance, "prod-db-instance");
    const instance = { type: TYPES.dbInstance, name: "prod-db-instance", urn: instanceUrn, props: proxy.unknownCheckingProxy({ loadBalancer: {} }) };
    const acl = {
      type: TYPES.dbAcl,
      name: "prod-db-acl",
      urn: urnOf("prod", TYPES.dbAcl, "prod-db-acl"),
      props: proxy.unknownCheckingProxy({ aclRules: [{ ip: "0.0.0.0/0" }] }),
      propertyDependencies: { instanceId: [instance] },
    };
    const asResource = (r: Mutable) => ({ propertyDependencies: {}, dependencies: [], opts: { protect: false }, ...r });
    expect(viewOf(asResource(acl) as never).propertyDependencies).toEqual({ instanceId: [instanceUrn] });

    const policy = policies.find((p) => p.name === "database-not-public") as { validateStack(args: unknown, report: (m: string, urn?: string) => void): void };
    const reported: [string, string | undefined][] = [];
    policy.validateStack({ resources: [instance, acl].map(asResource) }, (message, urn) => reported.push([message, urn]));
    expect(reported).toEqual([[expect.stringContaining("admits every address"), acl.urn]]);
  });

  it("makes every policy mandatory", () => {
    expect(policies.map((p) => [p.name, p.enforcementLevel])).toEqual([
      ["prod-data-protected", "mandatory"],
      ["database-not-public", "mandatory"],
      ["tls-on-public-hosts", "mandatory"],
      ["security-group-default-drop", "mandatory"],
    ]);
  });
});
