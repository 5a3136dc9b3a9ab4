/**
 * Judging hosts by their silence when the engine itself may be what is slow.
 *
 * Hosts are independent machines of independent providers: most of them do not stop reporting in the
 * same heartbeat timeout. When most do, what failed is between them and the engine (an API saturated or
 * away, a network split on our side), and judging them would mark healthy hosts lost, take them out of
 * placement and fail their leases over onto a stack that is already behind: the storm that broke a
 * 300-lease run here. Kubernetes' node controller holds evictions the same way when a zone is mostly
 * NotReady. The cost: a real outage of more than half the fleet at once is not failed over until it
 * passes or an operator acts; nothing is paid meanwhile, since no receipt is verified for those seconds.
 *
 * Short of that, an engine that is behind makes every host look late by the same amount: the fleet's
 * median silence rises (a healthy fleet's stays near half a report interval). Each host is then given
 * that much more before it is judged, up to a second timeout: at 1,000 simulated hosts on 2 cores the
 * median report was 8 s old and hosts were marked lost 3,744 times in 15 minutes for the API's slowness.
 * A real outage of fewer than half the hosts does not move the median, so it is judged as fast as ever.
 */

export interface FleetSilenceCount {
  /** Hosts heard from recently. */
  hosts: number;
  /** Of those, the ones silent past the heartbeat timeout. */
  silent: number;
  /** Seconds since the median host of those was last heard (0 for no host). */
  medianSilenceSeconds: number;
}

export interface MassSilencePolicy {
  /** Share of the fleet silent at once above which no host is judged. */
  share: number;
  /** Fewer silent hosts than this are always judged: a small fleet loses hosts one by one. */
  minimumSilent: number;
}

export const DEFAULT_MASS_SILENCE: MassSilencePolicy = { share: 0.5, minimumSilent: 10 };

/** True when so much of the fleet is silent that no host's silence may be held against it. */
export function isMassSilence({ hosts, silent }: FleetSilenceCount, policy: MassSilencePolicy = DEFAULT_MASS_SILENCE): boolean {
  return silent >= policy.minimumSilent && silent > hosts * policy.share;
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
