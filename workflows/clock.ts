/**
 * Workflow time. Inside a workflow the SDK replaces Date with a deterministic clock that reads the
 * time of the current workflow task, so this is replay-safe; it lives in one place so the rest of
 * workflows/ never touches Date directly.
 */
export function now(): number {
  // eslint-disable-next-line no-restricted-syntax -- the Temporal sandbox makes Date.now() deterministic
  return Date.now();
}
