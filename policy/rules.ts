/**
 * The rules of the policy pack, as pure functions over plain resource data: the unit tests call
 * them with the resources the program declares, and policies.ts hands them what the engine sends.
 * Each returns the violations it finds, every message saying what is wrong and how to fix it.
 */

import { PROTECTED_STACK } from "../components/config/protection";

/** A value the engine does not know yet (during a preview: an address not allocated yet). */
export const UNKNOWN: unique symbol = Symbol("unknown until the resource exists");

/** Type tokens the rules look at. */
export const TYPES = {
  dbInstance: "scaleway:databases/instance:Instance",
  dbAcl: "scaleway:databases/acl:Acl",
  server: "scaleway:instance/server:Server",
  securityGroup: "scaleway:instance/securityGroup:SecurityGroup",
  container: "scaleway:containers/container:Container",
  containerDomain: "scaleway:containers/domain:Domain",
  lbFrontend: "scaleway:loadbalancers/frontend:Frontend",
  remoteCommand: "command:remote:Command",
} as const;

/** The stack whose data must survive `pulumi destroy`: the config loader's own. */
export { PROTECTED_STACK };

/** A resource as the rules see it. */
export interface ResourceView {
  /** Type token, e.g. `scaleway:databases/instance:Instance`. */
  readonly type: string;
  /** Logical name, e.g. `prod-db-instance`. */
  readonly name: string;
  /** `urn:pulumi:<stack>::<project>::<type>::<name>`. */
  readonly urn: string;
  /** Its properties, with UNKNOWN where the engine does not know the value yet. */
  readonly props: Readonly<Record<string, unknown>>;
  /** Whether the resource has the `protect` option. */
  readonly protect: boolean;
  /** URNs of the resources each property is computed from (an Acl's `instanceId` → its Instance). */
  readonly propertyDependencies: Readonly<Record<string, readonly string[]>>;
}

/** A violation of a stack policy. */
export interface Violation {
  readonly message: string;
  /** The resource at fault; absent when the stack as a whole is. */
  readonly urn?: string;
}

/** The stack a resource belongs to, from its URN. */
export function stackOf(urn: string): string {
  const match = /^urn:pulumi:([^:]+)::/.exec(urn);
  if (!match) throw new Error(`not a Pulumi URN: ${urn}`);
  return match[1]!;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/** Whether a property is set (an empty list, as a provider reports an absent block, is not). */
function isSet(value: unknown): boolean {
  return value !== undefined && value !== null && !(Array.isArray(value) && value.length === 0);
}

/** A CIDR block or bare address: its prefix length (a bare address is one host). */
function cidr(value: string): { prefix: number; hostPrefix: number } {
  const [address = "", prefix] = value.trim().split("/");
  const hostPrefix = address.includes(":") ? 128 : 32;
  return { prefix: prefix === undefined ? hostPrefix : Number(prefix), hostPrefix };
}

/** 0.0.0.0/0, ::/0: every address. */
export function isWholeInternet(value: string): boolean {
  return cidr(value).prefix === 0;
}

/** A single address: /32 for IPv4, /128 for IPv6, or no prefix. */
export function isSingleHost(value: string): boolean {
  const { prefix, hostPrefix } = cidr(value);
  return prefix === hostPrefix;
}

// ------------------------------------------------------------------------------- 1. prod data

/** Resources whose deletion loses data: managed database instances, and whatever is named `*-data` (a database volume). */
export function holdsData(resource: Pick<ResourceView, "type" | "name">): boolean {
  return resource.type === TYPES.dbInstance || resource.name.endsWith("-data");
}

/** Rule 1 (per resource): on the prod stack, what holds data is `protect`ed. */
export function prodDataProtected(resource: ResourceView): string[] {
  if (stackOf(resource.urn) !== PROTECTED_STACK || !holdsData(resource) || resource.protect) return [];
  return [
    `${resource.name} (${resource.type}) holds the production data but is not protected: \`pulumi destroy\`, or a change that ` +
      `replaces it, would delete it. Fix: the prod stack protects its data unless permacoop:database.protect is false; remove ` +
      `that key from Pulumi.prod.yaml or run \`pulumi config set --path permacoop:database.protect true -s prod\`.`,
  ];
}

// ------------------------------------------------------------------------------- 2. database not public

/** Whether a managed instance answers on a public endpoint (Scaleway gives it one unless it has only a private network). */
export function hasPublicEndpoint(instance: ResourceView): boolean {
  return isSet(instance.props.loadBalancer) || !isSet(instance.props.privateNetwork);
}

/** Whether `acl` is the ACL of `instance`: its instanceId comes from that instance (or equals its id). */
function isAclOf(acl: ResourceView, instance: ResourceView): boolean {
  if ((acl.propertyDependencies.instanceId ?? []).includes(instance.urn)) return true;
  const id = instance.props.id;
  return typeof id === "string" && acl.props.instanceId === id;
}

const ACL_FIX =
  "Fix: the ACL is built by components/database/managed.ts and admits the host's own address only (/32); no config key " +
  "widens it, keep it that way. To reach the database yourself, go through the host: `npm run ops -- psql -s <stack>`.";

/** The rules of one ACL that admit more than one address. Unknown addresses (preview) are checked by `pulumi up`. */
function aclRuleViolations(acl: ResourceView): Violation[] {
  const rules = acl.props.aclRules;
  if (!Array.isArray(rules)) return [];
  return rules.flatMap((rule: unknown, i): Violation[] => {
    const ip = isRecord(rule) ? rule.ip : undefined;
    if (typeof ip !== "string") return [];
    if (isWholeInternet(ip)) {
      return [
        {
          urn: acl.urn,
          message: `database ACL ${acl.name} admits every address (aclRules[${i}].ip is ${ip}): anyone can try the database's passwords. ${ACL_FIX}`,
        },
      ];
    }
    if (!isSingleHost(ip)) {
      return [
        {
          urn: acl.urn,
          message: `database ACL ${acl.name} admits a whole network (aclRules[${i}].ip is ${ip}), not a single host (/32 or /128): every machine in it can try the database's passwords. ${ACL_FIX}`,
        },
      ];
    }
    return [];
  });
}

/**
 * Rule 2 (stack): a managed database is reachable only from single hosts. Every ACL rule is a /32
 * or /128 (never 0.0.0.0/0 or ::/0), and an instance with a public endpoint has an ACL: without
 * one Scaleway admits every address. An instance whose only endpoint is a private network needs none.
 */
export function databaseNotPublic(resources: readonly ResourceView[]): Violation[] {
  const acls = resources.filter((r) => r.type === TYPES.dbAcl);
  const violations = acls.flatMap(aclRuleViolations);
  for (const instance of resources.filter((r) => r.type === TYPES.dbInstance)) {
    if (!hasPublicEndpoint(instance) || acls.some((acl) => isAclOf(acl, instance))) continue;
    violations.push({
      urn: instance.urn,
      message:
        `managed database ${instance.name} has a public endpoint and no ACL: Scaleway then admits connections from any ` +
        `address (0.0.0.0/0). Fix: declare it through the ManagedDatabase component (components/database/managed.ts), which ` +
        `adds an ACL admitting the host's address only, or give it a private-network endpoint only (privateNetwork, no loadBalancer).`,
    });
  }
  return violations;
}

// ------------------------------------------------------------------------------- 3. TLS on public hosts

const tlsFix = (stack: string) =>
  `Fix: \`pulumi config set --path permacoop:tls.enabled true -s ${stack}\` with permacoop:tls.email set ` +
  `(\`pulumi config set --path permacoop:tls.email ops@example.org -s ${stack}\`).`;

/** Domains' containers: those a domain's containerId comes from; all of them when a domain's container cannot be told. */
function containersBehindDomains(resources: readonly ResourceView[]): ResourceView[] {
  const containers = resources.filter((r) => r.type === TYPES.container);
  const behind = new Set<ResourceView>();
  for (const domain of resources.filter((r) => r.type === TYPES.containerDomain)) {
    const sources = domain.propertyDependencies.containerId ?? [];
    const linked = containers.filter((c) => sources.includes(c.urn) || (typeof c.props.id === "string" && c.props.id === domain.props.containerId));
    for (const container of linked.length > 0 ? linked : containers) behind.add(container);
  }
  return [...behind];
}

/** Whether a frontend ACL redirects to HTTPS: a `scheme` redirect to `https`, or a `location` one to an https:// URL. */
function redirectsToHttps(acl: unknown): boolean {
  const action = isRecord(acl) ? acl.action : undefined;
  if (!isRecord(action) || action.type !== "redirect" || !Array.isArray(action.redirects)) return false;
  return action.redirects.some(
    (redirect: unknown) =>
      isRecord(redirect) &&
      ((redirect.type === "scheme" && redirect.target === "https") || (redirect.type === "location" && String(redirect.target).startsWith("https://"))),
  );
}

const LB_FIX =
  "Fix: the Load Balancer is declared by components/network/loadBalancer.ts from permacoop:tls.enabled (a certificate on 443, " +
  "port 80 redirecting there); do not change its frontends by hand.";

/**
 * The Load Balancers' frontends: a frontend on 443 serves a certificate, and on a Load Balancer
 * that serves 443 the one on 80 redirects to HTTPS; a Load Balancer serving no 443 at all serves
 * plain HTTP. Values unknown during a preview are left to `pulumi up`.
 */
function loadBalancerTls(resources: readonly ResourceView[]): Violation[] {
  const frontends = resources.filter((r) => r.type === TYPES.lbFrontend);
  // A frontend's Load Balancer: the resource its lbId comes from, else the id itself.
  const lbOf = (frontend: ResourceView) => frontend.propertyDependencies.lbId?.[0] ?? String(frontend.props.lbId);
  const violations: Violation[] = [];
  for (const lb of new Set(frontends.map(lbOf))) {
    const own = frontends.filter((f) => lbOf(f) === lb);
    if (own.some((f) => f.props.inboundPort === UNKNOWN)) continue;
    const https = own.filter((f) => f.props.inboundPort === 443);
    for (const frontend of https) {
      if (frontend.props.certificateIds === UNKNOWN || isSet(frontend.props.certificateIds)) continue;
      violations.push({
        urn: frontend.urn,
        message: `Load Balancer frontend ${frontend.name} listens on 443 without a certificate: browsers refuse it. ${LB_FIX}`,
      });
    }
    if (https.length === 0) {
      violations.push({
        urn: own[0]!.urn,
        message: `Load Balancer frontend ${own[0]!.name} serves the hostnames in plain HTTP, and no frontend serves HTTPS (443). ${tlsFix(stackOf(own[0]!.urn))}`,
      });
      continue;
    }
    for (const frontend of own.filter((f) => f.props.inboundPort === 80)) {
      const { acls } = frontend.props;
      if (acls === UNKNOWN || (Array.isArray(acls) && acls.some((acl) => acl === UNKNOWN || redirectsToHttps(acl)))) continue;
      violations.push({
        urn: frontend.urn,
        message: `Load Balancer frontend ${frontend.name} answers plain HTTP on 80 next to HTTPS on 443: visitors who type the bare name stay in HTTP. It needs an ACL redirecting to https. ${LB_FIX}`,
      });
    }
  }
  return violations;
}

/**
 * Rule 3 (stack): TLS on public hosts. A stack that runs on a public host (a Scaleway server, or
 * rollouts over SSH) requests a certificate (its `*-certificate` command, or its Load Balancer's
 * `*-certificate`); a Load Balancer serves a certificate on 443 and redirects 80 there; a
 * serverless container behind a custom domain redirects HTTP to HTTPS (`httpsConnectionsOnly`, or
 * the deprecated `httpOption: "redirected"`). Local stacks (local commands only) are exempt.
 */
export function tlsOnPublicHosts(resources: readonly ResourceView[]): Violation[] {
  const violations: Violation[] = [...loadBalancerTls(resources)];
  const host = resources.find((r) => r.type === TYPES.server) ?? resources.find((r) => r.type === TYPES.remoteCommand && r.name.endsWith("-rollout"));
  if (host && !resources.some((r) => r.name.endsWith("-certificate"))) {
    violations.push({
      message:
        `the stack serves its hostnames from a public host (${host.name}) but requests no certificate (no *-certificate ` +
        `command): visitors and their session cookies would travel in plain HTTP. ${tlsFix(stackOf(host.urn))}`,
    });
  }
  for (const container of containersBehindDomains(resources)) {
    const { httpsConnectionsOnly: httpsOnly, httpOption: option } = container.props;
    if (httpsOnly === true || option === "redirected" || httpsOnly === UNKNOWN || option === UNKNOWN) continue;
    violations.push({
      urn: container.urn,
      message:
        `serverless container ${container.name} has a custom domain but answers plain HTTP on it (httpsConnectionsOnly is ` +
        `${JSON.stringify(httpsOnly ?? false)}, httpOption is ${JSON.stringify(option ?? "enabled")}). Fix: declare it with ` +
        `httpsConnectionsOnly: true (components/host/scalewayContainers.ts does, whatever the config; the deprecated ` +
        `httpOption: "redirected" is equivalent).`,
    });
  }
  return violations;
}

// ------------------------------------------------------------------------------- 4. security groups

/** Whether a rule's `port`, or `portRange` "a-b", covers `port` (neither: every port; unknown: checked once known). */
function coversPort(rule: Record<string, unknown>, port: number): boolean {
  const { port: single, portRange: range } = rule;
  if (single === UNKNOWN || range === UNKNOWN) return false;
  if (typeof single === "number" && single > 0) return single === port;
  if (typeof range === "string" && range !== "") {
    const [from, to = from] = range.split("-").map(Number);
    return from !== undefined && to !== undefined && from <= port && port <= to;
  }
  return true;
}

/** Rule 4 (per resource): a security group drops inbound traffic by default and never opens SSH to the whole internet. */
export function securityGroupDefaultDrop(resource: ResourceView): string[] {
  if (resource.type !== TYPES.securityGroup) return [];
  const violations: string[] = [];
  const policy = resource.props.inboundDefaultPolicy;
  if (policy !== UNKNOWN && policy !== "drop") {
    violations.push(
      `security group ${resource.name} admits inbound traffic no rule allows (inboundDefaultPolicy is ` +
        `${policy === undefined ? 'unset, i.e. "accept"' : JSON.stringify(policy)}): every port of the host is open. Fix: ` +
        `inboundDefaultPolicy: "drop" (set by components/host/scalewayVm.ts; no config key changes it).`,
    );
  }
  const rules = resource.props.inboundRules;
  if (!Array.isArray(rules)) return violations;
  rules.forEach((rule: unknown, i) => {
    if (!isRecord(rule)) return;
    // Scaleway's defaults: action accept, protocol TCP, from anywhere.
    const range = rule.ipRange ?? rule.ip ?? "0.0.0.0/0";
    const accepts = (rule.action ?? "accept") === "accept" && ["TCP", "ANY"].includes(String(rule.protocol ?? "TCP"));
    if (!accepts || typeof range !== "string" || !isWholeInternet(range) || !coversPort(rule, 22)) return;
    violations.push(
      `security group ${resource.name} admits SSH (port 22) from ${range} (inboundRules[${i}]): anyone on the internet can ` +
        `try to log in. Fix: list only your admin networks in permacoop:host.adminCidrs and remove 0.0.0.0/0 and ::/0 from it, ` +
        `e.g. \`pulumi config set --path 'permacoop:host.adminCidrs[0]' 203.0.113.7/32 -s ${stackOf(resource.urn)}\`.`,
    );
  });
  return violations;
}
