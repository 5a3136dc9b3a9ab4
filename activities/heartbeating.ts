/**
 * Keeps long activities visibly alive. An escrow activity may wait a minute for a transaction (until its
 * blockhash expires); without heartbeats, Temporal learns that a killed worker's attempt is dead only when
 * the whole start-to-close timeout has passed, and the lease's settlements stall meanwhile. With them, a
 * dead worker is noticed within the heartbeat timeout and the retry (idempotent) runs on another worker.
 */
import { Context } from '@temporalio/activity';

const BEAT_MS = 2_000;

type AsyncFn = (...args: never[]) => Promise<unknown>;

export function heartbeating<T extends { [K in keyof T]: AsyncFn }>(activities: T): T {
  const wrapped: Record<string, AsyncFn> = {};
  for (const [name, fn] of Object.entries(activities) as [string, AsyncFn][]) {
    wrapped[name] = async (...args) => {
      const context = Context.current();
      const timer = setInterval(() => context.heartbeat(), BEAT_MS);
      try {
        return await fn(...args);
      } finally {
        clearInterval(timer);
      }
    };
  }
  return wrapped as T;
}
