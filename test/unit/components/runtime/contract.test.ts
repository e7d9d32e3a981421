import fc from "fast-check";
import { SWITCH_PORTS, switchPort } from "../../../../components/runtime/contract";
import { parse, validConfigInput } from "../../../support/mocks";

const serviceName = fc.stringMatching(/^[a-z][a-z0-9-]{0,30}$/);

describe("switch ports: a function of the service's name, not of its place in the list", () => {
  it("is the same for a name whatever else the stack holds, and in the switch's range", () => {
    fc.assert(
      fc.property(serviceName, (name) => {
        const port = switchPort(name);
        expect(port).toBe(switchPort(name));
        expect(port).toBeGreaterThanOrEqual(SWITCH_PORTS.first);
        expect(port).toBeLessThan(SWITCH_PORTS.first + SWITCH_PORTS.count);
      }),
    );
  });

  it("refuses two services of one stack whose names share a port, naming the second, with a fix that resolves it", () => {
    const seen = new Map<number, string>();
    let pair: [string, string] | undefined;
    for (let i = 0; !pair; i++) {
      const name = `s${i}`;
      const other = seen.get(switchPort(name));
      if (other) pair = [other, name];
      seen.set(switchPort(name), name);
    }
    const config = validConfigInput() as { services: Record<string, unknown>[] };
    const service = (name: string, route: string) => ({ name, image: "ghcr.io/example/app:main", port: 3000, route });
    config.services = [service(pair[0], "/"), service(pair[1], "/b/")];
    expect(() => parse(config, {})).toThrow(
      new RegExp(
        `permacoop:services\\[1\\]\\.name: expected a name whose switch port differs from service "${pair[0]}"'s[\\s\\S]*fix: pulumi config set --path 'permacoop:services\\[1\\]\\.name' ${pair[1]}-1`,
      ),
    );
    config.services = [service(pair[0], "/"), service(`${pair[1]}-1`, "/b/")];
    expect(() => parse(config, {})).not.toThrow();
  });
});
