import type { Policies, PolicyResource, ReportViolation, ResourceValidationArgs } from "@pulumi/policy";
import { databaseNotPublic, prodDataProtected, ResourceView, securityGroupDefaultDrop, tlsOnPublicHosts, UNKNOWN, Violation } from "./rules";

/**
 * A plain copy of properties as @pulumi/policy hands them over: reading a value the engine does
 * not know yet (preview) throws its UnknownValueError; the copy holds UNKNOWN there instead, so a
 * rule checks what is known and leaves the rest to `pulumi up`.
 */
export function plainProps(value: unknown): unknown {
  if (typeof value !== "object" || value === null) return value;
  const source = value as Record<string, unknown>;
  const copy: Record<string, unknown> | unknown[] = Array.isArray(value) ? [] : {};
  for (const key of Object.keys(source)) {
    let field: unknown;
    try {
      field = source[key];
    } catch (error) {
      if ((error as Error | undefined)?.constructor?.name !== "UnknownValueError") throw error;
      field = UNKNOWN;
    }
    (copy as Record<string, unknown>)[key] = plainProps(field);
  }
  return copy;
}

/** What the rules see of a resource the engine analyzes. */
export function viewOf(resource: ResourceValidationArgs | PolicyResource): ResourceView {
  const dependencies = "propertyDependencies" in resource ? resource.propertyDependencies : {};
  return {
    type: resource.type,
    name: resource.name,
    urn: resource.urn,
    props: plainProps(resource.props) as Record<string, unknown>,
    protect: resource.opts.protect,
    propertyDependencies: Object.fromEntries(Object.entries(dependencies).map(([key, sources]) => [key, sources.map((s) => s.urn)])),
  };
}

function report(violations: readonly Violation[], reportViolation: ReportViolation): void {
  for (const violation of violations) reportViolation(violation.message, violation.urn);
}

/** The pack's policies: every one mandatory, so a violation fails `pulumi preview` and `pulumi up`. */
export const policies: Policies = [
  {
    name: "prod-data-protected",
    description: "On the prod stack, managed database instances and *-data resources have the protect option.",
    enforcementLevel: "mandatory",
    validateResource: (args, reportViolation) => prodDataProtected(viewOf(args)).forEach((message) => reportViolation(message)),
  },
  {
    name: "database-not-public",
    description: "A managed database is reachable from single hosts only (ACL rules /32 or /128), or over a private network only.",
    enforcementLevel: "mandatory",
    validateStack: (args, reportViolation) => report(databaseNotPublic(args.resources.map(viewOf)), reportViolation),
  },
  {
    name: "tls-on-public-hosts",
    description:
      "A stack on a public host requests a certificate; a Load Balancer serves one on 443 and redirects 80 to HTTPS; a serverless container with a custom domain redirects HTTP to HTTPS.",
    enforcementLevel: "mandatory",
    validateStack: (args, reportViolation) => report(tlsOnPublicHosts(args.resources.map(viewOf)), reportViolation),
  },
  {
    name: "security-group-default-drop",
    description: "Security groups drop inbound traffic by default and never open SSH (22) to 0.0.0.0/0 or ::/0.",
    enforcementLevel: "mandatory",
    validateResource: (args, reportViolation) => securityGroupDefaultDrop(viewOf(args)).forEach((message) => reportViolation(message)),
  },
];
