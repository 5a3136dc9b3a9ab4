/**
 * Test-only crash points. A test that must prove recovery from a real crash at one exact place (not an
 * exception, which `finally` blocks and retries would see) names that place in LEASE_ENGINE_FAILPOINTS,
 * e.g. `after-settlement-sent=2`: the 2nd time this process reaches that point it SIGKILLs itself on the
 * spot. Inert unless the variable is set; nothing outside tests sets it.
 */

/** Every crash point in the code, and where it sits. */
export type FailpointName =
  /** A settlement's transaction is on the chain; its ledger row is still pending (escrow-settlement.effect). */
  'after-settlement-sent';

const FAILPOINT_NAMES: readonly FailpointName[] = ['after-settlement-sent'];

let armed: Map<string, number> | undefined;
const reached = new Map<string, number>();

/** `name=N` entries, comma-separated; N counts from 1 and defaults to 1. A typo fails loudly. */
function parseFailpoints(spec: string | undefined): Map<string, number> {
  const points = new Map<string, number>();
  for (const entry of (spec ?? '').split(',').map((s) => s.trim()).filter(Boolean)) {
    const [name = '', count = '1'] = entry.split('=').map((s) => s.trim());
    if (!(FAILPOINT_NAMES as readonly string[]).includes(name) || !/^[1-9]\d*$/.test(count)) {
      throw new Error(`LEASE_ENGINE_FAILPOINTS: "${entry}" is not name=N with a name among ${FAILPOINT_NAMES.join(', ')}`);
    }
    points.set(name, Number(count));
  }
  return points;
}

/** Kills this process with SIGKILL if `name` is armed and this is its Nth arrival; otherwise does nothing. */
export function failpoint(name: FailpointName): void {
  armed ??= parseFailpoints(process.env.LEASE_ENGINE_FAILPOINTS);
  const at = armed.get(name);
  if (at === undefined) return;
  const count = (reached.get(name) ?? 0) + 1;
  reached.set(name, count);
  if (count !== at) return;
  // Said first (stderr is synchronous on pipes and files) so that a test's output explains the death.
  process.stderr.write(`failpoint ${name} reached (${count}): SIGKILL to process ${process.pid}\n`);
  process.kill(process.pid, 'SIGKILL');
}
