import * as pulumi from "@pulumi/pulumi";
import * as scaleway from "@pulumiverse/scaleway";
import { DnsConfig } from "../config/schema";

/** A DNS record the environment needs, whoever creates it. */
export interface DnsRecordSpec {
  /** Fully qualified name, e.g. `permacoop.fairness.coop`. */
  readonly fqdn: string;
  readonly type: "A" | "AAAA";
  readonly value: string;
  readonly ttl: number;
}

export interface DnsRecordsArgs {
  /** The validated `permacoop:dns` config. */
  readonly dns: DnsConfig;
  /** Address the hostnames point to (A records). */
  readonly ipv4: pulumi.Input<string>;
  /** IPv6 address (AAAA records), when the host has one. */
  readonly ipv6?: pulumi.Input<string>;
}

/** Name of a hostname relative to its zone: `""` for the apex, `permacoop` for `permacoop.fairness.coop`. */
export function relativeName(fqdn: string, zone: string): string {
  if (fqdn === zone) return "";
  if (!fqdn.endsWith(`.${zone}`)) throw new Error(`dns: ${fqdn} is not inside zone ${zone}`);
  return fqdn.slice(0, -(zone.length + 1));
}

/**
 * The environment's A (and AAAA) records. With `provider: scaleway` they are created in the
 * Scaleway Domains zone; with `provider: external` nothing is created and `required` lists
 * what an operator must create at their registrar.
 */
export class DnsRecords extends pulumi.ComponentResource {
  /** Every record this environment needs. */
  public readonly required: pulumi.Output<DnsRecordSpec[]>;
  /** Records managed here (empty with an external provider). */
  public readonly records: scaleway.domain.Record[] = [];

  constructor(name: string, args: DnsRecordsArgs, opts?: pulumi.ComponentResourceOptions) {
    super("permacoop:index:DnsRecords", name, {}, opts);
    const { dns } = args;
    const families: { type: "A" | "AAAA"; value: pulumi.Input<string> }[] = [{ type: "A", value: args.ipv4 }];
    if (args.ipv6 !== undefined) families.push({ type: "AAAA", value: args.ipv6 });

    this.required = pulumi
      .all(families.map((family) => pulumi.output(family.value)))
      .apply((values) => dns.hostnames.flatMap((fqdn) => families.map((family, i) => ({ fqdn, type: family.type, value: values[i] as string, ttl: dns.ttl }))));

    if (dns.provider === "scaleway") {
      const zone = dns.zone as string; // the schema requires it for this provider
      for (const fqdn of dns.hostnames) {
        for (const family of families) {
          const label = relativeName(fqdn, zone) || "apex";
          this.records.push(
            new scaleway.domain.Record(
              `${name}-${label.replace(/\./g, "-")}-${family.type.toLowerCase()}`,
              { dnsZone: zone, name: relativeName(fqdn, zone), type: family.type, data: family.value, ttl: dns.ttl },
              { parent: this },
            ),
          );
        }
      }
    }
    this.registerOutputs({ required: this.required });
  }
}
