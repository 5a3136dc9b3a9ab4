/**
 * Host reports an API process works on at once: past the bound, a report is answered 503 with
 * Retry-After at once, before its signature is checked or the database is asked anything.
 *
 * Why: an API that takes every report it is sent holds them all, each waiting its turn for the event
 * loop and the database pool, and answers them late: at 1,000 hosts reporting together on 2 cores, one
 * report in seven hit the host's 10 s timeout, its work in the API wasted or never begun (bench/README.md). Bounded,
 * the work in flight, the pool's queue and the memory held are bounded, a refused host learns at once
 * that nothing was recorded (it keeps its receipts for the next report: they are chained, so none is
 * lost by waiting), and `host_reports_shed_total` tells the operator the process is saturated. It adds
 * no capacity: at that load the API still took only about 30 reports a second (bench/README.md).
 *
 * The slot is taken once the body has arrived: a sender trickling its body in holds no slot.
 */
import type { RequestHandler } from 'express';
import type { Logger } from 'pino';
import { problems } from './errors';

/** A report refused for load may be sent again after this long at the earliest (agents also wait their usual interval). */
export const SHED_RETRY_AFTER_SECONDS = 1;

/** Refusals are summed up in one log line at most this often, not one line each. */
const SHED_LOG_EVERY_MS = 10_000;

export class ReportAdmission {
  private active = 0;
  private shedCount = 0;

  constructor(readonly limit: number) {
    if (!Number.isInteger(limit) || limit < 1) throw new Error(`the in-flight bound must be a positive integer, not ${limit}`);
  }

  /** Reports being worked on now. */
  get inFlight(): number {
    return this.active;
  }

  /** Reports refused for load since the process started. */
  get shed(): number {
    return this.shedCount;
  }

  /** A slot, with the function that gives it back (once, however often it is called); undefined when none is free. */
  tryEnter(): (() => void) | undefined {
    if (this.active >= this.limit) {
      this.shedCount += 1;
      return undefined;
    }
    this.active += 1;
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.active -= 1;
    };
  }

  /** Express middleware: holds a slot until the response is done or its connection gone. */
  middleware(log?: Logger): RequestHandler {
    let logged = { at: 0, shed: 0 };
    return (_req, res, next) => {
      const release = this.tryEnter();
      if (!release) {
        const now = Date.now();
        if (log && now - logged.at >= SHED_LOG_EVERY_MS) {
          log.warn({ shed: this.shedCount - logged.shed, inFlight: this.active, limit: this.limit }, 'host reports refused for load (503, Retry-After) since the last such line');
          logged = { at: now, shed: this.shedCount };
        }
        throw problems.overloaded(
          `this API process is working on ${this.limit} host reports already; nothing was recorded, report again after ${SHED_RETRY_AFTER_SECONDS} s`,
          SHED_RETRY_AFTER_SECONDS,
        );
      }
      // 'close' follows 'finish', and also comes alone when the client goes away first.
      res.once('close', release);
      next();
    };
  }
}
