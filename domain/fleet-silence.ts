/**
 * Judging hosts by their silence when the engine itself may be what is slow.
 *
 * Hosts are independent machines of independent providers: most of them do not stop reporting in the
 * same heartbeat timeout. When most do, what failed is between them and the engine (an API saturated or
 * away, a network split on our side), and judging them would mark healthy hosts lost, take them out of
 * placement and fail their leases over onto a stack that is already behind: the storm that broke a
 * 300-lease run here. Kubernetes' node controller holds evictions the same way when a zone is mostly
 * NotReady. The cost: a real outage of more than half the fleet at once, over several providers, is not
 * failed over until it passes or an operator acts; nothing is paid meanwhile, since no receipt is verified
 * for those seconds.
 *
 * Short of that, an engine that is behind makes every host look late by the same amount: the fleet's
 * median silence rises (a healthy fleet's stays near half a report interval). Each host is then given
 * that much more before it is judged, up to a second timeout: at 1,000 simulated hosts on 2 cores the
 * median report was 8 s old and hosts were marked lost 3,744 times in 15 minutes for the API's slowness.
 * A real outage of fewer than half the hosts does not move the median, so it is judged as fast as ever.
 *
 * A mass silence must also be shared: still most of the fleet with any one provider left out. The engine's own
 * failure silences every provider alike; a provider that holds most of the fleet and stops reporting (or
 * withholds its receipts) is one provider failing, and is judged. Without this, such a provider could stop every
 * other provider's failovers for as long as it liked. A fleet of one provider has no one to compare with: the
 * plain rule holds there.
 */

/** One provider's part of the fleet: how many it has (hosts, or running assignments) and how many of them are late. */
export interface ProviderLateness {
  total: number;
  late: number;
}

export interface FleetSilenceCount {
  /** Hosts heard from recently. */
  hosts: number;
  /** Of those, the ones silent past the heartbeat timeout. */
  silent: number;
  /** Seconds since the median host of those was last heard (0 for no host). */
  medianSilenceSeconds: number;
  /** Each provider with a silent host: its recent hosts and its silent ones (absent: not known, not used). */
  byProvider?: ProviderLateness[];
}

export interface MassSilencePolicy {
  /** Share of the fleet silent at once above which no host is judged. */
  share: number;
  /** Fewer silent hosts than this are always judged: a small fleet loses hosts one by one. */
  minimumSilent: number;
}

export const DEFAULT_MASS_SILENCE: MassSilencePolicy = { share: 0.5, minimumSilent: 10 };

/**
 * Most of `total` late at once, and still most of it with any one provider's part left out (a provider whose part
 * is the whole has no one to be compared with). Providers with none late need no check: leaving one out only
 * raises the share of the rest that is late.
 */
function isSharedMass(total: number, late: number, byProvider: readonly ProviderLateness[], policy: MassSilencePolicy): boolean {
  if (late < policy.minimumSilent || late <= total * policy.share) return false;
  return byProvider.every((p) => total === p.total || late - p.late > (total - p.total) * policy.share);
}

/** True when so much of the fleet is silent, across providers, that no host's silence may be held against it. */
export function isMassSilence({ hosts, silent, byProvider = [] }: FleetSilenceCount, policy: MassSilencePolicy = DEFAULT_MASS_SILENCE): boolean {
  return isSharedMass(hosts, silent, byProvider, policy);
}

/**
 * The receipts' side of the same judgement: running assignments (their containers reported running), the ones
 * whose next receipt is overdue past the heartbeat timeout, and how late the median one's is. A fleet whose
 * reports stop for less than a timeout (one process playing many hosts, or the API, restarted in seconds) is
 * never mostly silent past it, yet every one of its receipts is late together: in a 300-lease chaos run here,
 * each restart of the fleet simulator failed over the leases whose receipts were overdue first, 299 failovers
 * and 81 leases failed for want of a free GPU, though no provider had done anything wrong.
 */
export interface FleetProofCount {
  running: number;
  unproven: number;
  /** Seconds the median running assignment's next receipt is past due (0 when not due yet, or none runs). */
  medianLatenessSeconds: number;
  /** Each provider with an overdue receipt: its running assignments and its overdue ones (absent: not used). */
  byProvider?: ProviderLateness[];
}

/** True when most running assignments, across providers, miss their receipts at once: the engine's failure, as a mass silence is. */
export function isMassUnproven({ running, unproven, byProvider = [] }: FleetProofCount, policy: MassSilencePolicy = DEFAULT_MASS_SILENCE): boolean {
  return isSharedMass(running, unproven, byProvider, policy);
}

/** Below this many recent hosts the median is a few hosts' own silence, not the engine's lateness. */
export const MEDIAN_RULE_MINIMUM_HOSTS = 20;

/**
 * The silence a host may keep before it is judged: the heartbeat timeout, plus whatever the fleet's
 * median silence exceeds a quarter of it by (a healthy fleet reports well within that, so it is judged at
 * exactly the timeout), at most twice the timeout in all. Only a fleet of MEDIAN_RULE_MINIMUM_HOSTS or
 * more: in a small one the median host may be a dead one, which would stretch its own timeout forever.
 */
export function judgedTimeoutSeconds(heartbeatTimeoutSeconds: number, { hosts, medianSilenceSeconds }: Pick<FleetSilenceCount, 'hosts' | 'medianSilenceSeconds'>): number {
  if (hosts < MEDIAN_RULE_MINIMUM_HOSTS) return heartbeatTimeoutSeconds;
  const behind = medianSilenceSeconds - heartbeatTimeoutSeconds / 4;
  return behind > 0 ? heartbeatTimeoutSeconds + Math.min(Math.ceil(behind), heartbeatTimeoutSeconds) : heartbeatTimeoutSeconds;
}

/** What the fleet monitor knows before it judges anyone. */
export interface FleetJudgementInput {
  /** Seconds an API has served without a gap (0 while none does): hosts are heard only through it. */
  apiUpSeconds: number;
  silence: FleetSilenceCount;
  /** Seconds left of the hold a mass silence left behind (0 when none). */
  holdLeftSeconds: number;
  /** The fleet's receipts; absent, receipts are judged as its reports are. */
  proofs?: FleetProofCount;
}

export interface FleetJudgement {
  /** Whether any host may be judged by its silence now (lost, proved nothing, never started its container). */
  heard: boolean;
  /** Why not: no API heard them long enough, most of the fleet silent now, or a mass silence just ended. */
  heldBy: 'api' | 'mass_silence' | 'after_mass_silence' | null;
  /** The silence after which a host is judged while heard (judgedTimeoutSeconds). */
  timeoutSeconds: number;
  /**
   * How long past due a receipt may be before its assignment is judged to prove nothing: the same rule over the
   * receipts' median lateness, and never less than the hosts' timeout (reports heard late carry receipts late).
   */
  proofTimeoutSeconds: number;
}

/**
 * Whether hosts may be judged now, and after what silence. A mass silence holds judgement while it lasts and for
 * a whole timeout after (the caller renews that hold each time it finds one): a fleet coming back reports over
 * seconds, and without the hold the half not heard yet when the other half was would all be judged lost at once
 * (60 hosts in one tick after a PostgreSQL restart in a 300-lease chaos run here). After an API outage the up-time
 * rule gives the same whole timeout.
 */
export function judgeFleet(heartbeatTimeoutSeconds: number, { apiUpSeconds, silence, holdLeftSeconds, proofs }: FleetJudgementInput,
  policy: MassSilencePolicy = DEFAULT_MASS_SILENCE): FleetJudgement {
  const timeoutSeconds = judgedTimeoutSeconds(heartbeatTimeoutSeconds, silence);
  const proofTimeoutSeconds = proofs === undefined ? timeoutSeconds
    : Math.max(timeoutSeconds, judgedTimeoutSeconds(heartbeatTimeoutSeconds, { hosts: proofs.running, medianSilenceSeconds: proofs.medianLatenessSeconds }));
  const judged = { timeoutSeconds, proofTimeoutSeconds };
  if (apiUpSeconds < heartbeatTimeoutSeconds) return { heard: false, heldBy: 'api', ...judged };
  if (isMassSilence(silence, policy) || (proofs !== undefined && isMassUnproven(proofs, policy))) return { heard: false, heldBy: 'mass_silence', ...judged };
  if (holdLeftSeconds > 0) return { heard: false, heldBy: 'after_mass_silence', ...judged };
  return { heard: true, heldBy: null, ...judged };
}

/**
 * How much longer than its deadline a dispatch waits for its host to report the container running: what the
 * fleet as a whole is late by, or a whole timeout while hosts cannot be judged at all (their reports are not
 * getting through). Never more than one timeout: a host that is really dead is replaced at most that much later.
 */
export function startDeadlineExtensionSeconds(heartbeatTimeoutSeconds: number, judgement: FleetJudgement): number {
  return judgement.heard ? judgement.timeoutSeconds - heartbeatTimeoutSeconds : heartbeatTimeoutSeconds;
}
