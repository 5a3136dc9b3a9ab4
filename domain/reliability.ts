/**
 * A provider's reliability score (DESIGN §2.1: ties in placement go to the more reliable provider),
 * computed from what the engine itself recorded about the provider's hosts, never from what a provider
 * claims. Pure: infra/db/repositories/reliability.repo.ts gathers the evidence, this file weighs it.
 *
 * The score is the product of three estimates, each in (0, 1], of a distinct way a provider lets a
 * customer down; a product because they compound (a lease is well served only if its GPUs stay, prove
 * their time, and prove it honestly):
 *
 * - **staying**: of the times the provider held part of a lease, how often it held it to the lease's end
 *   rather than being the reason the lease had to fail over (its host lost, unhealthy, or not starting
 *   the container), with every lost or unhealthy mark on its hosts also counted as a failure: a host lost
 *   while idle would have cost a lease the same. Failovers and marks overlap on purpose: a lost host
 *   that carried two leases cost three things (a machine and two leases' interruptions).
 * - **coverage**: of the time the engine watched its assignments (first to latest accepted receipt), the
 *   share covered by consecutive valid receipts; the rest are receipt gaps, time nobody is paid for and a
 *   customer's job may not have run.
 * - **validity**: of the receipts it sent, the share accepted on arrival. A refused receipt is a bug or a
 *   forgery; either way a chain that breaks stops being paid.
 *
 * Each estimate starts from a prior of pseudo-observations (a Beta prior, in effect), so that one early
 * mishap does not sink a new provider and one lucky lease does not crown it: a provider with no record
 * scores NEW_PROVIDER_SCORE (0.75), below a provider with a clean record of a few leases (about 0.9 after
 * 10) and above one that made a lease fail over as often as it completed one (0.5 or less). Evidence
 * older than EVIDENCE_WINDOW_DAYS is not counted, so a provider that mended its ways recovers.
 */

/** What the engine recorded about one provider's hosts within the evidence window. All counts ≥ 0. */
export interface ReliabilityEvidence {
  /** Assignments that ran until their lease ended (completed, or cancelled by its customer). */
  leasesCompleted: number;
  /** Assignments that ended because of the provider: host lost, host unhealthy, container not started. */
  failoversCaused: number;
  /** Times one of its hosts was marked lost or unhealthy (host_events), with or without a lease on it. */
  unhealthyMarks: number;
  /** Proof receipts accepted, and refused, on arrival. */
  receiptsAccepted: number;
  receiptsRejected: number;
  /** Seconds from first to latest accepted receipt, summed over its assignments: the time the engine watched. */
  watchedSeconds: number;
  /** Of the watched seconds, those covered by consecutive valid receipts; the rest are receipt gaps. */
  provenSeconds: number;
}

export interface Reliability {
  /** In (0, 1]; higher is better; NEW_PROVIDER_SCORE with no evidence. Rounded to 4 decimals. */
  score: number;
  staying: number;
  coverage: number;
  validity: number;
}

/** How far back evidence counts. */
export const EVIDENCE_WINDOW_DAYS = 30;

/** Prior of `staying`: as if a new provider had completed 3 leases and caused 1 failover. */
export const PRIOR_COMPLETED = 3;
export const PRIOR_FAILED = 1;
/** Prior of `coverage`: as if 10 minutes had been watched and proven, so one gap in a first lease costs little. */
export const PRIOR_PROVEN_SECONDS = 600;
/** Prior of `validity`: as if 100 receipts (8 minutes at the 5 s default interval) had been accepted. */
export const PRIOR_ACCEPTED_RECEIPTS = 100;

export const NO_EVIDENCE: ReliabilityEvidence = Object.freeze({
  leasesCompleted: 0,
  failoversCaused: 0,
  unhealthyMarks: 0,
  receiptsAccepted: 0,
  receiptsRejected: 0,
  watchedSeconds: 0,
  provenSeconds: 0,
});

/** A count from the database, made safe: negative, fractional or non-finite input is read as what it can mean. */
function count(value: number): number {
  return Number.isFinite(value) && value > 0 ? value : 0;
}

function round4(value: number): number {
  return Math.round(value * 10_000) / 10_000;
}

export function reliabilityOf(evidence: ReliabilityEvidence): Reliability {
  const completed = count(evidence.leasesCompleted);
  const failures = count(evidence.failoversCaused) + count(evidence.unhealthyMarks);
  const watched = count(evidence.watchedSeconds);
  // Proven time can never exceed watched time (a constraint in the database); clamp anyway so a score stays ≤ 1.
  const proven = Math.min(count(evidence.provenSeconds), watched);
  const accepted = count(evidence.receiptsAccepted);
  const rejected = count(evidence.receiptsRejected);

  const staying = (PRIOR_COMPLETED + completed) / (PRIOR_COMPLETED + PRIOR_FAILED + completed + failures);
  const coverage = (PRIOR_PROVEN_SECONDS + proven) / (PRIOR_PROVEN_SECONDS + watched);
  const validity = (PRIOR_ACCEPTED_RECEIPTS + accepted) / (PRIOR_ACCEPTED_RECEIPTS + accepted + rejected);
  return { score: round4(staying * coverage * validity), staying: round4(staying), coverage: round4(coverage), validity: round4(validity) };
}

export const NEW_PROVIDER_SCORE = reliabilityOf(NO_EVIDENCE).score;

/**
 * Provider ids, most reliable first: the order placement prefers among GPUs of the same price. Equal
 * scores keep a stable order by id, so two reservations of the same request decide alike.
 */
export function rankByReliability(scores: ReadonlyMap<string, number>): string[] {
  return [...scores.entries()].sort(([idA, a], [idB, b]) => b - a || (idA < idB ? -1 : idA > idB ? 1 : 0)).map(([id]) => id);
}
