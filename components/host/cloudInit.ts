import { stringify } from "yaml";

/** Input of the VM's first-boot configuration. */
export interface CloudInitArgs {
  /** Unix user that deploys; member of the docker group, no password. */
  readonly deployUser: string;
  /** OpenSSH public keys allowed to log in as the deploy user. */
  readonly sshPublicKeys: readonly string[];
  /** Host name of the VM. */
  readonly hostname: string;
  /** The SSH host key to install instead of generating one, so it can be pinned before boot. */
  readonly hostKey?: { readonly privateKey: string; readonly publicKey: string };
}

/** Where cloud-init leaves a marker once the host is ready for rollouts (waited on by remote hosts). */
export const CLOUD_INIT_DONE_MARKER = "/var/lib/permacoop/cloud-init.done";

/**
 * Renders the `#cloud-config` user data of a Scaleway VM host: Docker engine, a deploy user
 * with the given keys, no password SSH, no root SSH, unattended security upgrades.
 * Pure: the same input always gives the same text (the server is replaced when it changes).
 */
export function renderCloudInit(args: CloudInitArgs): string {
  if (args.sshPublicKeys.length === 0) throw new Error("renderCloudInit: at least one SSH public key is required");
  const document = {
    hostname: args.hostname,
    preserve_hostname: false,
    package_update: true,
    package_upgrade: true,
    // cron runs the certificate renewal and the daily pg_dump of a container database.
    packages: ["docker.io", "cron", "unattended-upgrades", "apt-listchanges", "curl", "ca-certificates"],
    users: [
      {
        name: args.deployUser,
        groups: ["docker"],
        shell: "/bin/bash",
        lock_passwd: true,
        ssh_authorized_keys: [...args.sshPublicKeys],
      },
    ],
    ssh_pwauth: false,
    disable_root: true,
    ...(args.hostKey
      ? { ssh_deletekeys: true, ssh_genkeytypes: ["ed25519"], ssh_keys: { ed25519_private: args.hostKey.privateKey, ed25519_public: args.hostKey.publicKey } }
      : {}),
    write_files: [
      {
        path: "/etc/ssh/sshd_config.d/50-permacoop.conf",
        permissions: "0644",
        content: ["PasswordAuthentication no", "KbdInteractiveAuthentication no", "PermitRootLogin no", ""].join("\n"),
      },
      {
        path: "/etc/apt/apt.conf.d/20auto-upgrades",
        permissions: "0644",
        content: ['APT::Periodic::Update-Package-Lists "1";', 'APT::Periodic::Unattended-Upgrade "1";', ""].join("\n"),
      },
    ],
    runcmd: [
      ["systemctl", "enable", "--now", "docker"],
      ["systemctl", "enable", "--now", "unattended-upgrades"],
      ["systemctl", "reload", "ssh"],
      ["install", "-d", "-m", "0755", "/var/lib/permacoop"],
      ["touch", CLOUD_INIT_DONE_MARKER],
    ],
  };
  return `#cloud-config\n${stringify(document, { lineWidth: 0 })}`;
}
