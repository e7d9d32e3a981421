// The program as the Pulumi engine runs it (package.json's `main`): index.ts, each TypeScript file
// compiled by swc as Node loads it. Neither TypeScript (0.35 s to load on a 2-core machine) nor
// ts-node is loaded, and nothing is type-checked at run time: CI runs `tsc --noEmit`.
// Measured by `npm run bench` (preview_prod_over_empty_ratio); docs/development.md.
"use strict";
const Module = require("node:module");
const { readFileSync } = require("node:fs");
const { dirname, sep } = require("node:path");
const { transformSync } = require("@swc/core");

/**
 * Module `filename` is loaded when something first reads from it, not when it is required: its
 * exports become a proxy that loads it then. Only for modules whose exports are an object read
 * at call time.
 */
function loadOnFirstUse(filename) {
  if (require.cache[filename]) return;
  let loaded;
  const real = () => {
    if (loaded === undefined) {
      delete require.cache[filename];
      loaded = require(filename);
    }
    return loaded;
  };
  const stub = new Module(filename);
  stub.filename = filename;
  stub.loaded = true;
  // `__esModule`: TypeScript's import helpers take the proxy as the module, unread.
  stub.exports = new Proxy(
    {},
    {
      get: (_target, key) => {
        if (key === "__esModule") return true;
        const exports = real();
        return key === "default" && !exports.__esModule ? exports : Reflect.get(exports, key);
      },
      has: (_target, key) => Reflect.has(real(), key),
      ownKeys: () => Reflect.ownKeys(real()),
      getOwnPropertyDescriptor: (_target, key) => {
        const descriptor = Reflect.getOwnPropertyDescriptor(real(), key);
        return descriptor && { ...descriptor, configurable: true };
      },
    },
  );
  require.cache[filename] = stub;
}

// What the Pulumi SDK loads eagerly for serializing functions into resources, which this program
// never does: npm's dependency walker and TypeScript's parser, 0.8 s of every preview and up.
try {
  const sdk = dirname(require.resolve("@pulumi/pulumi/package.json"));
  loadOnFirstUse(require.resolve("@npmcli/arborist", { paths: [sdk] }));
  loadOnFirstUse(require.resolve("@pulumi/pulumi/typescript-shim.js"));
} catch {
  // Another SDK layout: everything loads as the SDK says, only slower.
}

const nodeModules = `${sep}node_modules${sep}`;

// require.extensions: deprecated, and still the one synchronous hook of CommonJS loading (ts-node's too).
require.extensions[".ts"] = function compileTypeScript(module, filename) {
  if (filename.includes(nodeModules)) throw new Error(`${filename}: TypeScript in node_modules is not compiled here`);
  const { code } = transformSync(readFileSync(filename, "utf8"), {
    filename,
    swcrc: false,
    configFile: false,
    sourceMaps: "inline",
    module: { type: "commonjs" },
    jsc: { parser: { syntax: "typescript" }, target: "es2022" },
  });
  module._compile(code, filename);
};

// Pulumi's SDK takes a stack trace at every resource it registers (its source position), and the
// source-map-support its runner installs maps every frame of it through the files' source maps:
// 0.5 s of a preview. Node's own source maps (this program's files carry theirs inline) map
// only what has a map, lazily.
process.setSourceMapsEnabled(true);
Error.prepareStackTrace = undefined;

module.exports = require("../index.ts");
