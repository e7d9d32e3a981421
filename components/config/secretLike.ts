// What looks like a secret, by name or by value: the schema, its rules and the loader read it here.

/** Config keys whose names say they hold a secret: they must be set with `--secret`. */
export const SECRET_KEY_PATTERN = /(secret|token|password|passphrase|privatekey|apikey|credential)/i;

/**
 * Values that are credentials whatever their key says: well-known token formats (GitHub,
 * GitLab, Slack, Stripe, AWS, Scaleway), private keys, JWTs. Never echoed, refused in plain env.
 */
const CREDENTIAL_VALUE =
  /(gh[pousr]_[A-Za-z0-9]{20,}|github_pat_[A-Za-z0-9_]{20,}|glpat-[A-Za-z0-9_-]{20,}|xox[abprs]-[A-Za-z0-9-]{10,}|[sr]k_(live|test)_[A-Za-z0-9]{10,}|AKIA[0-9A-Z]{16}|SCW[0-9A-Z]{17}|-----BEGIN [A-Z ]*PRIVATE KEY-----|eyJ[A-Za-z0-9_-]{10,}\.eyJ[A-Za-z0-9_-]{10,}\.)/;

/** Whether a value looks like a credential (see CREDENTIAL_VALUE). */
export function looksLikeCredential(value: string): boolean {
  return CREDENTIAL_VALUE.test(value);
}
