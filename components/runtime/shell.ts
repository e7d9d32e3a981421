/** Shell rendering shared by the host scripts' renderers. */

/** Single-quotes a value for bash. */
export function shellQuote(value: string | number | boolean): string {
  return `'${String(value).replace(/'/g, `'\\''`)}'`;
}

/** A spec value: lists become one space-separated word list (their items hold no spaces); booleans `true`/`false`. */
export type SpecValue = string | number | boolean | readonly (string | number)[];

/** `someSetting` → `SOME_SETTING`: the spec's keys name the scripts' variables, one spelling. */
export function variableName(key: string): string {
  return key.replace(/([a-z0-9])([A-Z])/g, "$1_$2").toUpperCase();
}

/**
 * A value as one bash word, never expanded: single-quoted, or double-quoted with `\ $ \` "`
 * escaped when it holds `$`, a backtick or a backslash (shellcheck reads those in single quotes
 * as a forgotten expansion or escape; here they are data).
 */
export function shellWord(value: string | number | boolean): string {
  const text = String(value);
  return /[$`\\]/.test(text) ? `"${text.replace(/[\\$`"]/g, "\\$&")}"` : shellQuote(text);
}

/** The spec as `NAME='value'` lines: every setting reaches a script through here, none by hand. */
export function shellVariables(spec: Readonly<Record<string, SpecValue>>): string[] {
  return Object.entries(spec).map(
    ([key, value]) => `${variableName(key)}=${shellWord(Array.isArray(value) ? value.join(" ") : (value as string | number | boolean))}`,
  );
}
