/**
 * Renders docs/config.md, the configuration reference, from the zod schema alone
 * (components/config/schema.ts): its JSON Schema (z.toJSONSchema, input side, so fields with a
 * default are optional) carries each key's type, default, description and examples.
 *
 *   npm run docs:config          # writes docs/config.md
 *   npm run docs:config -- --check   # exits 1 when docs/config.md is out of date
 *
 * The output is deterministic and already in Prettier's shape (aligned tables), so that
 * `prettier --check .` and the unit test that compares it with docs/config.md agree.
 */
import { readFileSync, writeFileSync, mkdirSync } from "node:fs";
import * as path from "node:path";
import { stringify } from "yaml";
import { z } from "zod";
import { NAMESPACE, PROGRAM_SECRET_DESCRIPTIONS, PROGRAM_SECRETS, SECRET_KEY_PATTERN, stackConfigSchema } from "../components/config/schema";
import { CROSS_KEY_RULES } from "../components/config/rules";

/** Where the rendered reference lives, and the command that rewrites it. */
export const DOCS_FILE = path.join(__dirname, "..", "docs", "config.md");
export const REGENERATE_COMMAND = "npm run docs:config";
const GENERATOR_COMMAND = "npx ts-node --transpile-only tools/config-docs.ts";

/** The parts of a JSON Schema (draft 2020-12) that z.toJSONSchema emits for this contract. */
export interface JsonSchema {
  type?: string;
  /** What kind of value, in a word or two (a building block's metadata: `DNS name`, `CIDR block`…). */
  title?: string;
  description?: string;
  /** Schema metadata of ours: a default the program computes (it depends on the stack or on other keys). */
  computedDefault?: string;
  examples?: unknown[];
  default?: unknown;
  const?: unknown;
  enum?: unknown[];
  format?: string;
  minimum?: number;
  maximum?: number;
  exclusiveMinimum?: number;
  minLength?: number;
  minItems?: number;
  properties?: Record<string, JsonSchema>;
  required?: string[];
  additionalProperties?: JsonSchema | boolean;
  propertyNames?: JsonSchema;
  items?: JsonSchema;
  oneOf?: JsonSchema[];
  anyOf?: JsonSchema[];
}

/** The contract as JSON Schema, as a user writes it (input side: a field with a default may be left out). */
export function configJsonSchema(): JsonSchema {
  return z.toJSONSchema(stackConfigSchema, { io: "input" }) as JsonSchema;
}

const FORMATS: Record<string, string> = {
  email: "e-mail address",
  uri: "URL",
  ipv4: "IPv4 address",
  ipv6: "IPv6 address",
  cidrv4: "IPv4 CIDR block",
  cidrv6: "IPv6 CIDR block",
};

const code = (text: string) => `\`${text}\``;

/** A value as a user types it in YAML flow style: `["a", "b"]`, `{ A: "x" }`, `3`. */
function inline(value: unknown, nested = false): string {
  if (Array.isArray(value)) return `[${value.map((item) => inline(item, true)).join(", ")}]`;
  if (value !== null && typeof value === "object") {
    const entries = Object.entries(value);
    return entries.length === 0 ? "{}" : `{ ${entries.map(([key, item]) => `${key}: ${inline(item, true)}`).join(", ")} }`;
  }
  return typeof value === "string" && !nested ? value : JSON.stringify(value);
}

/** The range of a number, in words a reader checks at a glance. */
function range(schema: JsonSchema): string {
  const { minimum: min, maximum: max, exclusiveMinimum: above } = schema;
  if (min !== undefined && max !== undefined) return ` ${min}–${max}`;
  if (min !== undefined) return ` ≥ ${min}`;
  if (above !== undefined) return ` > ${above}`;
  if (max !== undefined) return ` ≤ ${max}`;
  return "";
}

/** `a`, `a or b`, `a, b or c`. */
function alternatives(labels: readonly string[]): string {
  return labels.length < 2 ? (labels[0] ?? "") : `${labels.slice(0, -1).join(", ")} or ${labels[labels.length - 1]}`;
}

/** The type column: what kind of value, with the constraints the schema states mechanically. */
export function typeOf(schema: JsonSchema): string {
  if (schema.const !== undefined) return code(String(schema.const));
  if (schema.enum) return `one of ${schema.enum.map((value) => code(String(value))).join(", ")}`;
  if (schema.title) return schema.title;
  if (schema.oneOf) return `one of ${schema.oneOf.length} kinds`;
  if (schema.anyOf) return alternatives([...new Set(schema.anyOf.map(typeOf))]);
  switch (schema.type) {
    case "string":
      if (schema.format && FORMATS[schema.format]) return FORMATS[schema.format]!;
      return schema.minLength ? "non-empty string" : "string";
    case "integer":
      return `integer${range(schema)}`;
    case "number":
      return `number${range(schema)}`;
    case "boolean":
      return "boolean";
    case "array": {
      const item = schema.items?.type === "object" ? "objects" : schema.items ? typeOf(schema.items) : "values";
      return `list of ${item}${schema.minItems ? `, at least ${schema.minItems}` : ""}`;
    }
    case "object":
      if (schema.properties) return "object";
      if (typeof schema.additionalProperties === "object") {
        const value = schema.additionalProperties.type === "object" ? "object" : typeOf(schema.additionalProperties);
        return `map: ${schema.propertyNames ? typeOf(schema.propertyNames) : "string"} → ${value}`;
      }
      return "object";
    default:
      throw new Error(`config-docs: no type label for ${JSON.stringify(schema)}`);
  }
}

const isEmptyObject = (value: unknown) => value !== null && typeof value === "object" && Object.keys(value).length === 0;

/** The default column: `required`, the schema's default, the program's computed default, or none. */
export function defaultOf(schema: JsonSchema, required: boolean): string {
  if (required) return "**required**";
  if (schema.computedDefault) return schema.computedDefault;
  if (schema.default === undefined || isEmptyObject(schema.default)) return "none";
  if (typeof schema.default === "object") return "each field's default";
  return code(inline(schema.default));
}

function descriptionOf(schema: JsonSchema, where: string): string {
  const text = schema.description?.trim();
  if (!text) throw new Error(`config-docs: ${where} has no description: give it one in components/config/schema.ts with .meta({ description })`);
  return text;
}

interface Row {
  readonly field: string;
  readonly type: string;
  readonly default: string;
  readonly description: string;
}

/** One row per field of an object, nested objects and maps of objects flattened into dotted paths. */
function fieldRows(object: JsonSchema, where: string, prefix = ""): Row[] {
  const required = new Set(object.required ?? []);
  return Object.entries(object.properties ?? {}).flatMap(([name, field]) => {
    const key = `${prefix}${name}`;
    const examples = field.examples?.length ? ` Example: ${field.examples.map((example) => code(inline(example))).join(", ")}.` : "";
    const row: Row = {
      field: code(key),
      type: typeOf(field),
      default: defaultOf(field, required.has(name)),
      description: descriptionOf(field, `${where}.${key}`) + examples,
    };
    if (field.type === "object" && field.properties) return [row, ...fieldRows(field, where, `${key}.`)];
    const values = field.additionalProperties;
    if (typeof values === "object" && values.properties) return [row, ...fieldRows(values, where, `${key}.<name>.`)];
    return [row];
  });
}

/** Prettier's width of a table cell: code points (the contract's text has no double-width characters). */
const width = (text: string) => [...text].length;

/** A Markdown table exactly as Prettier aligns it. */
function table(header: readonly string[], rows: readonly (readonly string[])[]): string {
  const cells = [header, ...rows].map((row) => row.map((cell) => cell.replace(/\|/g, "\\|")));
  const widths = header.map((_, i) => Math.max(3, ...cells.map((row) => width(row[i]!))));
  const line = (row: readonly string[]) => `| ${row.map((cell, i) => cell + " ".repeat(widths[i]! - width(cell))).join(" | ")} |`;
  return [line(cells[0]!), `| ${widths.map((w) => "-".repeat(w)).join(" | ")} |`, ...cells.slice(1).map(line)].join("\n");
}

const FIELD_HEADER = ["field", "type", "default", "description"] as const;

function fieldTable(object: JsonSchema, where: string): string {
  return table(
    FIELD_HEADER,
    fieldRows(object, where).map((row) => [row.field, row.type, row.default, row.description]),
  );
}

/** A YAML example, as it sits in Pulumi.<stack>.yaml. */
function example(key: string, value: unknown): string {
  const yaml = stringify({ config: { [`${NAMESPACE}:${key}`]: value } }, { lineWidth: 0 }).trimEnd();
  return ["In `Pulumi.<stack>.yaml`:", "", "```yaml", yaml, "```"].join("\n");
}

/** GitHub's anchor for a heading. */
function anchor(heading: string): string {
  return heading
    .toLowerCase()
    .replace(/[^\p{L}\p{N}\s_-]/gu, "")
    .replace(/\s/g, "-");
}

/** Heading of the rules across keys. */
export const RULES_HEADING = "Rules across keys";

const SECRETS_HEADING = `${code(`${NAMESPACE}:<name>`)}: secrets`;

function keyHeading(key: string): string {
  return code(`${NAMESPACE}:${key}`);
}

/** The kind a variant of a union is (the value of its `kind`). */
function kindOf(variant: JsonSchema, where: string): string {
  const kind = variant.properties?.kind?.const;
  if (typeof kind !== "string") throw new Error(`config-docs: a variant of ${where} has no constant kind`);
  return kind;
}

function variantHeading(key: string, kind: string): string {
  return `${key} kind ${code(kind)}`;
}

function keySection(key: string, schema: JsonSchema): string {
  const where = `${NAMESPACE}:${key}`;
  const parts = [`## ${keyHeading(key)}`, descriptionOf(schema, where)];
  if (schema.oneOf) {
    const kinds = schema.oneOf.map((variant) => kindOf(variant, where));
    parts.push(`${code("kind")} is one of: ${kinds.map((kind) => `[${code(kind)}](#${anchor(variantHeading(key, kind))})`).join(", ")}.`);
    schema.oneOf.forEach((variant, i) => {
      parts.push(`### ${variantHeading(key, kinds[i]!)}`, descriptionOf(variant, `${where} (kind ${kinds[i]})`), fieldTable(variant, where));
      if (variant.examples?.[0] !== undefined) parts.push(example(key, variant.examples[0]));
    });
  } else if (schema.type === "array" && schema.items?.oneOf) {
    // A list of items of several types (accessories): a section per type.
    const types = schema.items.oneOf.map((variant) => {
      const type = variant.properties?.type?.const;
      if (typeof type !== "string") throw new Error(`config-docs: a variant of ${where}[] has no constant type`);
      return type;
    });
    const heading = (type: string) => `${key} type ${code(type)}`;
    parts.push(`Each item's ${code("type")} is one of: ${types.map((type) => `[${code(type)}](#${anchor(heading(type))})`).join(", ")}.`);
    schema.items.oneOf.forEach((variant, i) => {
      parts.push(`### ${heading(types[i]!)}`, descriptionOf(variant, `${where}[] (type ${types[i]})`), fieldTable(variant, `${where}[]`));
      if (variant.examples?.[0] !== undefined) parts.push(example(key, [variant.examples[0]]));
    });
  } else if (schema.type === "array" && schema.items?.properties) {
    const item = schema.items;
    parts.push(descriptionOf(item, `${where}[]`), fieldTable(item, `${where}[]`));
    if (item.examples?.[0] !== undefined) parts.push(example(key, [item.examples[0]]));
  } else if (schema.properties) {
    parts.push(fieldTable(schema, where));
    if (schema.examples?.[0] !== undefined) parts.push(example(key, schema.examples[0]));
  } else if (schema.type === "string") {
    // A plain value: its description says it all, and an example shows it in place.
    if (schema.examples?.[0] !== undefined) parts.push(example(key, schema.examples[0]));
  } else {
    throw new Error(`config-docs: no layout for ${where}`);
  }
  return parts.join("\n\n");
}

/** The secrets section: what services' `secretEnv` and the program read, and the plaintext rule. */
function secretsSection(root: JsonSchema): string {
  const secretEnv = root.properties?.services?.items?.properties?.secretEnv;
  const reference = secretEnv && typeof secretEnv.additionalProperties === "object" ? secretEnv.additionalProperties : undefined;
  if (!reference) throw new Error("config-docs: services[].secretEnv is not a map of secret key names");
  const words = SECRET_KEY_PATTERN.source.replace(/^\(|\)$/g, "").split("|");
  const rows = [
    ...Object.values(PROGRAM_SECRETS).map((name) => [code(`${NAMESPACE}:${name}`), "the program", PROGRAM_SECRET_DESCRIPTIONS[name]]),
    [code(`${NAMESPACE}:<name>`), `a service, through ${code("secretEnv")}`, descriptionOf(reference, "services[].secretEnv values")],
  ];
  return [
    `## ${SECRETS_HEADING}`,
    `Every other ${code(`${NAMESPACE}:`)} key is a secret, read by name. A key whose name contains ${words.map(code).join(", ")} (in any case) must be set with ${code("--secret")}.`,
    table(["key", "read by", "description"], rows),
  ].join("\n\n");
}

/** The rules across keys (components/config/rules.ts): what each field's own type cannot say. */
function rulesSection(): string {
  return [
    `## ${RULES_HEADING}`,
    `Each key is checked on its own (its type, its pattern, its range: the tables above), then against the others. A configuration that breaks a rule fails ${code("pulumi preview")} and ${code("pulumi up")} before any resource is touched, naming the key to change, what was expected, what was found (never a value that may be a secret), and a command that fixes it.`,
    CROSS_KEY_RULES.map((rule) => `- ${rule}`).join("\n"),
  ].join("\n\n");
}

/** The whole reference, deterministic: same schema, same bytes. */
export function renderConfigDocs(): string {
  const root = configJsonSchema();
  const keys = Object.entries(root.properties ?? {});
  const required = new Set(root.required ?? []);
  const summary = table(
    ["key", "type", "default", "description"],
    [
      ...keys.map(([key, schema]) => [
        `[${keyHeading(key)}](#${anchor(keyHeading(key))})`,
        schema.oneOf ? `one of ${schema.oneOf.map((variant) => code(kindOf(variant, key))).join(", ")}` : typeOf(schema),
        defaultOf(schema, required.has(key)),
        descriptionOf(schema, `${NAMESPACE}:${key}`).replace(/ Required\.$/, ""),
      ]),
      [
        `[${code(`${NAMESPACE}:<name>`)}](#${anchor(SECRETS_HEADING)})`,
        "secret string",
        "none",
        `A secret a service's ${code("secretEnv")} refers to (e.g. ${code("calendarToken")}).`,
      ],
    ],
  );
  const sections = [
    "# Configuration reference",
    `> Generated from ${code("components/config/schema.ts")} by ${code(REGENERATE_COMMAND)} (${code(GENERATOR_COMMAND)}). Do not edit: change the schema's descriptions and regenerate.`,
    descriptionOf(root, "the stack configuration"),
    `Each key lives in ${code("Pulumi.<stack>.yaml")} under ${code("config:")}, or is set from the command line, a field at a time: ${code(`pulumi config set --path '${NAMESPACE}:host.kind' scaleway-vm`)}.`,
    summary,
    ...keys.map(([key, schema]) => keySection(key, schema)),
    secretsSection(root),
    rulesSection(),
  ];
  return `${sections.join("\n\n")}\n`;
}

function main(argv: readonly string[]): void {
  const rendered = renderConfigDocs();
  if (argv.includes("--check")) {
    let current = "";
    try {
      current = readFileSync(DOCS_FILE, "utf8");
    } catch {
      // missing: out of date
    }
    if (current !== rendered) {
      process.stderr.write(`docs/config.md is out of date with components/config/schema.ts: run ${REGENERATE_COMMAND}\n`);
      process.exit(1);
    }
    return;
  }
  mkdirSync(path.dirname(DOCS_FILE), { recursive: true });
  writeFileSync(DOCS_FILE, rendered);
  process.stdout.write(`wrote ${path.relative(process.cwd(), DOCS_FILE)}\n`);
}

if (require.main === module) main(process.argv.slice(2));
