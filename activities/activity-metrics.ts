/**
 * What the control activities tell the control worker's `/metrics` (workers/control/metrics.ts implements
 * it). A port, so activities never import the registry: each call is synchronous and must not throw.
 */
export interface ControlActivityMetrics {
  /** A replacement reported running, `seconds` after the fault on the assignment it replaces was signalled. */
  failoverCompleted(seconds: number): void;
  /** A settlement transaction confirmed, `seconds` after the end of the period it pays. */
  settlementConfirmed(seconds: number): void;
}
