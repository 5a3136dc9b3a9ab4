/**
 * When the fleet falls silent together, the silence is ours. Hosts are independent machines of
 * independent providers: most of them do not stop reporting in the same heartbeat timeout. When most
 * do, what failed is between them and the engine (an API saturated or away, a network split on our
 * side), and judging them would mark healthy hosts lost, take them out of placement and fail their
 * leases over onto a stack that is already behind: the storm that broke a 300-lease run here.
 * Kubernetes' node controller holds evictions the same way when a zone is mostly NotReady.
 *
 * The cost: a real outage of more than half the fleet at once is not failed over until it passes or an
 * operator acts. Nothing is paid meanwhile, since no receipt is verified for those seconds.
 */

export interface FleetSilenceCount {
  /** Hosts heard from recently. */
  hosts: number;
  /** Of those, the ones silent past the heartbeat timeout. */
  silent: number;
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
