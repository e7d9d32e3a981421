/** The host script a step's command runs, decoded from the `scripts` step's stdin (its install bundle). */
export function installedScript(bundle: string, command: string): string {
  const file = /\/scripts\/([a-z0-9-]+\.sh)'/.exec(command)?.[1];
  const line = bundle.split("\n").find((l) => file !== undefined && l.startsWith(`${file} `));
  if (!line) throw new Error(`no installed script ${file ?? "(none named)"} in the bundle, for: ${command}`);
  return Buffer.from(line.split(" ")[1]!, "base64").toString("utf8");
}
