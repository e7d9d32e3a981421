import { readFileSync } from "node:fs";
import { z } from "zod";
import { databaseSchema, hostSchema, NAMESPACE, PROGRAM_SECRETS, STRUCTURED_KEYS, stackConfigSchema } from "../../../components/config/schema";
import { configJsonSchema, DOCS_FILE, JsonSchema, REGENERATE_COMMAND, renderConfigDocs } from "../../../tools/config-docs";
import { CROSS_KEY_RULES } from "../../../components/config/rules";

/** Every place of the JSON Schema a user writes a key: `[path, schema, parent object]`. */
function fields(schema: JsonSchema, path = NAMESPACE): [string, JsonSchema][] {
  const out: [string, JsonSchema][] = [];
  for (const [name, field] of Object.entries(schema.properties ?? {})) {
    const at = path === NAMESPACE ? `${NAMESPACE}:${name}` : `${path}.${name}`;
    out.push([at, field], ...fields(field, at));
  }
  schema.oneOf?.forEach((variant) => out.push(...fields(variant, `${path}(kind ${String(variant.properties?.kind?.const)})`)));
  if (schema.items) out.push(...fields(schema.items, `${path}[]`));
  if (typeof schema.additionalProperties === "object") out.push(...fields(schema.additionalProperties, `${path}.<name>`));
  return out;
}

/** Every object a reader meets as a whole: union variants and list items need a description too. */
function objects(schema: JsonSchema, path = NAMESPACE): [string, JsonSchema][] {
  const out: [string, JsonSchema][] = [];
  schema.oneOf?.forEach((variant) => out.push([`${path} (kind ${String(variant.properties?.kind?.const)})`, variant], ...objects(variant, path)));
  if (schema.items?.properties) out.push([`${path}[]`, schema.items]);
  for (const [name, field] of Object.entries(schema.properties ?? {}))
    out.push(...objects(field, path === NAMESPACE ? `${NAMESPACE}:${name}` : `${path}.${name}`));
  if (schema.items) out.push(...objects(schema.items, `${path}[]`));
  return out;
}

/** Each zod schema of the contract, wrappers included, with where it sits. */
function zodSchemas(schema: z.ZodType, path: string, out: [string, z.ZodType][] = []): [string, z.ZodType][] {
  out.push([path, schema]);
  const def = schema._zod.def as unknown as Record<string, unknown> & { type: string };
  const walk = (child: unknown, at: string) => zodSchemas(child as z.ZodType, at, out);
  switch (def.type) {
    case "object":
      for (const [name, child] of Object.entries(def.shape as Record<string, unknown>)) walk(child, path ? `${path}.${name}` : name);
      break;
    case "union":
      (def.options as unknown[]).forEach((option, i) => walk(option, `${path}|${i}`));
      break;
    case "optional":
    case "default":
    case "prefault":
    case "nullable":
    case "readonly":
      walk(def.innerType, path);
      break;
    case "array":
      walk(def.element, `${path}[]`);
      break;
    case "record":
      walk(def.valueType, `${path}.<name>`);
      break;
    case "pipe":
      walk(def.in, path);
      break;
  }
  return out;
}

describe("docs/config.md, the configuration reference generated from the schema", () => {
  // Rendered on first use: a field without a description makes the renderer throw, and the test
  // that lists every such field should still run and say which.
  let cached: string | undefined;
  const docs = () => (cached ??= renderConfigDocs());

  it("is up to date with components/config/schema.ts", () => {
    let current = "";
    try {
      current = readFileSync(DOCS_FILE, "utf8");
    } catch {
      // missing: reported below
    }
    const rendered = docs();
    if (current !== rendered) {
      const lines = current.split("\n");
      const differs = rendered.split("\n").findIndex((line, i) => line !== lines[i]);
      const at = differs < 0 ? rendered.split("\n").length : differs;
      throw new Error(
        `docs/config.md is out of date with components/config/schema.ts (first difference at line ${at + 1}).\n` +
          `Regenerate it: ${REGENERATE_COMMAND}   (npx ts-node --transpile-only tools/config-docs.ts), and commit the result.`,
      );
    }
  });

  it("renders the same bytes every time", () => {
    expect(renderConfigDocs()).toBe(docs());
  });

  it("says it is generated, and by which command", () => {
    expect(docs().split("\n").slice(0, 3).join("\n")).toContain(`Generated from \`components/config/schema.ts\` by \`${REGENERATE_COMMAND}\``);
  });

  it("lists every rule across keys, from the one module that holds them", () => {
    const rendered = docs();
    expect(rendered).toContain("\n## Rules across keys\n");
    expect(CROSS_KEY_RULES.length).toBeGreaterThanOrEqual(10);
    for (const rule of CROSS_KEY_RULES) expect(rendered).toContain(`- ${rule}`);
  });

  it("has a section per top-level key, and one for the secrets", () => {
    const rendered = docs();
    expect(STRUCTURED_KEYS).toEqual(["host", "database", "dns", "tls", "proxy", "services", "jobs", "accessories", "rollout", "registries", "buildRegistry"]);
    for (const key of STRUCTURED_KEYS) expect(rendered).toContain(`\n## \`${NAMESPACE}:${key}\`\n`);
    expect(rendered).toContain(`\n## \`${NAMESPACE}:<name>\`: secrets\n`);
    for (const name of Object.values(PROGRAM_SECRETS)) expect(rendered).toContain(`\`${NAMESPACE}:${name}\``);
    expect(rendered).toContain("`secretEnv`");
    // A list of several item types: a section per type.
    for (const type of ["s3", "redis", "generic"]) expect(rendered).toContain(`\n### accessories type \`${type}\`\n`);
  });

  it("has a section per host kind and per database kind, and lists the DNS providers", () => {
    const rendered = docs();
    const hostKinds = hostSchema.options.map((option) => option.shape.kind.value);
    expect(hostKinds).toEqual(["scaleway-vm", "local", "ssh", "scaleway-container", "local-vm"]);
    for (const kind of hostKinds) expect(rendered).toContain(`\n### host kind \`${kind}\`\n`);
    for (const kind of databaseSchema.options.map((option) => option.shape.kind.value)) expect(rendered).toContain(`\n### database kind \`${kind}\`\n`);
    expect(rendered).toContain("one of `scaleway`, `external`, `none`");
  });

  it("documents every field of the schema: each has a non-empty description", () => {
    const all = fields(configJsonSchema());
    expect(all.length).toBeGreaterThan(80);
    const missing = all.filter(([, field]) => !field.description?.trim()).map(([path]) => path);
    if (missing.length > 0)
      throw new Error(
        `config fields without a description (add .meta({ description: "…" }) in components/config/schema.ts, then ${REGENERATE_COMMAND}):\n  ${missing.join("\n  ")}`,
      );
  });

  it("describes each variant of a union and the items of a list", () => {
    const all = objects(configJsonSchema());
    expect(all.map(([path]) => path)).toEqual(expect.arrayContaining([`${NAMESPACE}:host (kind ssh)`, `${NAMESPACE}:services[]`]));
    const missing = all.filter(([, object]) => !object.description?.trim()).map(([path]) => path);
    expect(missing).toEqual([]);
    expect(configJsonSchema().description?.trim()).toBeTruthy();
  });

  it("states each static default in the description too, so the two cannot drift apart", () => {
    const drifted = fields(configJsonSchema())
      .filter(([, field]) => ["string", "number", "boolean"].includes(typeof field.default))
      .filter(([, field]) => !field.description!.includes(String(field.default)))
      .map(([path, field]) => `${path}: default ${JSON.stringify(field.default)}, description "${field.description}"`);
    expect(drifted).toEqual([]);
  });

  it("gives examples the schema accepts", () => {
    const withExamples = zodSchemas(stackConfigSchema, "").filter(([, schema]) => Array.isArray(schema.meta()?.examples));
    expect(withExamples.length).toBeGreaterThan(10);
    const refused = withExamples.flatMap(([path, schema]) =>
      (schema.meta()!.examples as unknown[]).filter((example) => !schema.safeParse(example).success).map((example) => `${path}: ${JSON.stringify(example)}`),
    );
    expect(refused).toEqual([]);
  });
});
