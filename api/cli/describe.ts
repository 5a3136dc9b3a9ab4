/**
 * A lease event in a person's words, and how the progress display treats it: a phase the spinner shows
 * while it lasts, or a line kept on screen (done, news, a warning, the end).
 */
import type { LeaseEventView } from '../schemas/events.schemas';

export type Step =
  | { kind: 'phase'; text: string }
  | { kind: 'line'; symbol: 'succeed' | 'info' | 'warn' | 'fail'; text: string; then?: string }
  | { kind: 'end'; symbol: 'succeed' | 'fail'; text: string };

const PHASES: Record<string, string> = {
  reserving: 'reserving GPUs',
  dispatching: 'dispatching containers to the hosts',
  failing_over: 'failing over: placing the lost ranks elsewhere',
  closing: 'closing: stopping containers, paying the last period, refunding the rest',
};

export function describeEvent(event: LeaseEventView): Step {
  const d = event.data as Record<string, unknown>;
  const rank = `rank ${String(d.rank)}`;
  switch (event.kind) {
    case 'status': {
      const status = String(d.status);
      if (status === 'running') return { kind: 'line', symbol: 'succeed', text: 'lease running', then: 'running (settlements as they land)' };
      if (status === 'completed' || status === 'cancelled') return { kind: 'end', symbol: 'succeed', text: `lease ${status}${d.endReason ? `: ${String(d.endReason)}` : ''}` };
      if (status === 'failed') return { kind: 'end', symbol: 'fail', text: `lease failed${d.endReason ? `: ${String(d.endReason)}` : ''}` };
      if (status === 'failing_over') return { kind: 'line', symbol: 'warn', text: 'failing over', then: PHASES.failing_over };
      return { kind: 'phase', text: PHASES[status] ?? status };
    }
    case 'escrow':
      return { kind: 'line', symbol: 'succeed', text: `escrow locked ${String(d.deposited)} in ${String(d.address)}` };
    case 'placed':
      return {
        kind: 'line', symbol: 'info',
        text: `${rank} placed on host ${String(d.hostId)} (provider ${String(d.providerId)}, tier ${String(d.tier)}, epoch ${String(d.epoch)})`,
      };
    case 'running':
      return { kind: 'line', symbol: 'succeed', text: `${rank} running (epoch ${String(d.epoch)})` };
    case 'ended': {
      const reason = String(d.reason);
      const routine = reason.startsWith('lease_');
      return { kind: 'line', symbol: routine ? 'info' : 'warn', text: `${rank} ended (epoch ${String(d.epoch)}): ${reason.replace(/_/g, ' ')}` };
    }
    case 'settlement': {
      const paid = Array.isArray(d.payouts) ? d.payouts.reduce((n: number, p: { seconds?: number }) => n + (p.seconds ?? 0), 0) : 0;
      const refund = d.kind === 'close' ? `, refunded ${String(d.refunded)}` : '';
      const topUp = d.topUp !== undefined && d.topUp !== '0' ? `, deposit topped up by ${String(d.topUp)}` : '';
      return {
        kind: 'line', symbol: 'info',
        text: `${d.kind === 'close' ? 'closed' : 'settled'} period ${String(d.period)}: ${String(d.gross)} for ${paid} GPU-seconds${topUp}${refund} (tx ${String(d.signature).slice(0, 16)}…)`,
      };
    }
    case 'warning':
      return { kind: 'line', symbol: 'warn', text: String(d.message) };
    default:
      return { kind: 'line', symbol: 'info', text: `${event.kind}: ${JSON.stringify(d)}` };
  }
}
