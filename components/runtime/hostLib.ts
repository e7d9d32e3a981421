import { readFileSync } from "node:fs";
import { join } from "node:path";

/** Shell functions both host scripts use (components/runtime/host.lib.sh), rendered into each. */
export const HOST_LIB = readFileSync(join(__dirname, "host.lib.sh"), "utf8");
