/**
 * Exit codes scripts can rely on, and errors that say what to do. Every failure of a command is a
 * CliError by the time it reaches main: its message is printed, its code is the exit status.
 */
export const EXIT = {
  ok: 0,
  /** Anything else: the API or the network failed, the lease failed (`watch`). */
  other: 1,
  /** The command line or the request is wrong (missing option, bad value, a 400 from the API, no API key). */
  usage: 2,
  /** No such lease (or not yours), no such route. */
  notFound: 3,
  /** Refused: the wallet cannot cover the deposit (402), the lease's state forbids it (409), it cannot be done (422). */
  refused: 4,
} as const;

export class CliError extends Error {
  override name = 'CliError';
  constructor(
    message: string,
    readonly exitCode: number = EXIT.other,
    /** The API's problem document, printed as is with --json. */
    readonly problem?: Record<string, unknown>,
  ) {
    super(message);
  }
}

/** The exit code for an API answer's HTTP status. */
export function exitCodeForStatus(status: number): number {
  if (status === 400 || status === 413 || status === 415) return EXIT.usage;
  if (status === 404) return EXIT.notFound;
  if (status === 402 || status === 409 || status === 422) return EXIT.refused;
  return EXIT.other;
}

/** What to do next, for the statuses where the API's own words may not say it. */
export function hintForStatus(status: number): string {
  if (status === 401) return ' (the API key was refused: pass --api-key or set LEASE_ENGINE_API_KEY)';
  if (status === 402) return ' (raise your allowance: `lease-engine wallet`, or ask for fewer GPUs or a lower price cap)';
  if (status === 503) return ' (retry in a moment)';
  return '';
}
