// Which stack's data is protected by default: the config loader and the policy pack (policy/) read
// this one module, so the first and the second line of defence cannot disagree. No imports: the
// policy pack compiles it on its own.

/** The stack whose data must survive `pulumi destroy` unless `database.protect` says otherwise. */
export const PROTECTED_STACK = "prod";

/** Whether the stack's data refuses `pulumi destroy`: `database.protect`, by default on the `prod` stack only. */
export function isDataProtected(database: { readonly protect?: boolean }, stack: string): boolean {
  return database.protect ?? stack === PROTECTED_STACK;
}
