/**
 * The live progress of `lease create --watch` and `lease watch` for a person: a spinner (ora) on stderr
 * showing the phase under way, and a line kept for each rank placed, running or ended, each
 * settlement, each failover, and the end. Loaded only when it is shown (ora is an ES module).
 */
import ora from 'ora';
import type { LeaseEventView } from '../schemas/events.schemas';
import { describeEvent } from './describe';

export interface Progress {
  show(event: LeaseEventView): void;
  stop(): void;
}

export function spinnerProgress(leaseId: string): Progress {
  const spinner = ora({ text: `following lease ${leaseId}` }).start();
  return {
    show(event) {
      const step = describeEvent(event);
      if (step.kind === 'phase') {
        spinner.text = step.text;
        if (!spinner.isSpinning) spinner.start();
        return;
      }
      const current = spinner.text;
      spinner[step.symbol](step.text);
      if (step.kind === 'end') return;
      spinner.start(step.kind === 'line' && step.then ? step.then : current);
    },
    stop() {
      if (spinner.isSpinning) spinner.stop();
    },
  };
}
