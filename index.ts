import { loadStackConfig } from "./components/config/load";
import { Environment } from "./components/environment";
import { registryLookup, resolveServiceImages } from "./components/registry/resolve";

// Validate the whole configuration before declaring any resource: a bad stack file
// fails here with one message listing every problem, and nothing is touched.
const { stack, config, secrets } = loadStackConfig();

// Then every pulled image by digest, still before any resource: a registry that does not answer
// fails `pulumi up` with nothing touched.
export = resolveServiceImages(config, registryLookup(config, secrets)).then((resolvedImages) => {
  const environment = new Environment(stack, { name: stack, config, secrets, resolvedImages });
  return stackOutputs(environment);
});

function stackOutputs(environment: Environment) {
  const { outputs } = environment.host;
  return {
    url: environment.url,
    /** The host: its kind, and for a VM its addresses and deploy user. */
    host: outputs.host,
    /** SSH coordinates of a VM's deploy user, with its pinned host key (npm run ops reads them). */
    ssh: outputs.ssh,
    /** The deploy user's private key (secret): `pulumi stack output --show-secrets sshPrivateKey`. */
    sshPrivateKey: outputs.sshPrivateKey,
    dataProtected: environment.dataProtected,
    /** The environment's id on its machine: its names there (`pc-<id>-…`, `~/.permacoop/<id>`; npm run ops reads it). */
    envId: environment.envIds[0],
    /** With several hosts: each one's id and SSH coordinates, in the configuration's order (npm run ops -- --host). */
    envIds: environment.envIds.length > 1 ? environment.envIds : undefined,
    servers: outputs.servers,
    /** With DNS managed elsewhere: the records to create at the registrar. */
    dnsRecordsToCreate: environment.recordsToCreate,
    /** Environment of each service (secret): plain env, secrets and DATABASE_*. */
    serviceEnv: environment.serviceEnv,
    /** Image each service runs (by digest when pulled or pushed): what another stack's `services[].fromStack` ships. */
    images: outputs.images ?? environment.images,
  };
}
