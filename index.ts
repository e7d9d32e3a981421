import { loadStackConfig } from "./components/config/load";
import { Environment } from "./components/environment";

// Validate the whole configuration before declaring any resource: a bad stack file
// fails here with one message listing every problem, and nothing is touched.
const { stack, config, secrets } = loadStackConfig();

const environment = new Environment(stack, { name: stack, config, secrets });
const { outputs } = environment.host;

export const url = environment.url;
/** The host: its kind, and for a Scaleway VM its addresses and deploy user. */
export const host = outputs.host;
/** SSH coordinates of a Scaleway VM's deploy user, with its pinned host key (npm run ops reads them). */
export const ssh = outputs.ssh;
/** The deploy user's private key (secret): `pulumi stack output --show-secrets sshPrivateKey`. */
export const sshPrivateKey = outputs.sshPrivateKey;
export const dataProtected = environment.dataProtected;
/** With DNS managed elsewhere: the records to create at the registrar. */
export const dnsRecordsToCreate = environment.recordsToCreate;
/** Environment of each service (secret): plain env, secrets and DATABASE_*. */
export const serviceEnv = environment.serviceEnv;
/** Image each service runs, by digest (serverless containers): what another stack's `services[].fromStack` ships. */
export const images = outputs.images;
