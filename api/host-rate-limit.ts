/**
 * A host may report about once per proof interval; one that floods the API is slowed down here
 * (429) before its reports reach the database. A token bucket per host, in this process's memory:
 * with several API processes each allows its own share, which only loosens the bound by that factor.
 */
export class HostRateLimit {
  private readonly buckets = new Map<string, { tokens: number; at: number }>();

  constructor(
    private readonly perSecond = 5,
    private readonly burst = 20,
    private readonly now: () => number = Date.now,
  ) {}

  /** True when the host may go on; false when it must wait. */
  take(hostId: string): boolean {
    const at = this.now();
    const bucket = this.buckets.get(hostId) ?? { tokens: this.burst, at };
    bucket.tokens = Math.min(this.burst, bucket.tokens + ((at - bucket.at) / 1000) * this.perSecond);
    bucket.at = at;
    this.buckets.set(hostId, bucket);
    if (bucket.tokens < 1) return false;
    bucket.tokens -= 1;
    return true;
  }
}
