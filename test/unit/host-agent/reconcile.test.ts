import type { LeaseContainer, ReconcilePlan, WantedAssignment } from '../../../workers/host-agent/reconcile';
import { assignmentKey, planReconcile } from '../../../workers/host-agent/reconcile';

function container(assignmentId: string, epoch: number, state: LeaseContainer['state'] = 'running'): LeaseContainer {
  return {
    containerId: `c-${assignmentId}-${epoch}`,
    leaseId: 'lease-1',
    assignmentId,
    epoch,
    gpuId: 'h1-gpu0',
    state,
    createdAt: 1_800_000_000_000,
  };
}

const run = (assignmentId: string, epoch: number): WantedAssignment => ({ assignmentId, epoch, state: 'run' });
const stop = (assignmentId: string, epoch: number): WantedAssignment => ({ assignmentId, epoch, state: 'stop' });

const stopped = (plan: ReconcilePlan) => plan.stop.map(({ container: c, reason }) => `${c.assignmentId}@${c.epoch}:${reason}`);
const started = (plan: ReconcilePlan) => plan.start.map((s) => assignmentKey(s.assignmentId, s.epoch));

describe('planReconcile', () => {
  it('starts what is desired running and has no container yet', () => {
    const plan = planReconcile([container('a1', 1)], [run('a1', 1), run('a2', 1), run('a3', 4)], new Set());
    expect(started(plan)).toEqual(['a2@1', 'a3@4']);
    expect(plan.stop).toEqual([]);
  });

  it('keeps a running container of a desired assignment and epoch untouched', () => {
    const plan = planReconcile([container('a1', 1), container('a2', 3)], [run('a1', 1), run('a2', 3)], new Set());
    expect(plan).toEqual({ start: [], stop: [] });
  });

  it('never restarts an assignment it already tried, whether its container exited, vanished or never started', () => {
    const tried = new Set([assignmentKey('exited', 1), assignmentKey('vanished', 1), assignmentKey('failed', 2)]);
    const plan = planReconcile(
      [container('exited', 1, 'exited')],
      [run('exited', 1), run('vanished', 1), run('failed', 2), run('fresh', 1)],
      tried,
    );
    expect(started(plan)).toEqual(['fresh@1']);
    // An exited container of a desired assignment is reported, not stopped (nor started again).
    expect(plan.stop).toEqual([]);
  });

  it('starts the new epoch of a tried assignment: a tried key is per epoch', () => {
    const plan = planReconcile([], [run('a1', 2)], new Set([assignmentKey('a1', 1)]));
    expect(started(plan)).toEqual(['a1@2']);
  });

  it('does not start an assignment desired stopped', () => {
    expect(planReconcile([], [stop('a1', 1)], new Set()).start).toEqual([]);
  });

  it('stops a superseded epoch and starts the new one', () => {
    const plan = planReconcile([container('a1', 1)], [run('a1', 2)], new Set());
    expect(stopped(plan)).toEqual(['a1@1:superseded_epoch']);
    expect(started(plan)).toEqual(['a1@2']);
  });

  it('stops a container whose assignment is desired stopped', () => {
    const plan = planReconcile([container('a1', 1), container('a2', 1, 'exited')], [stop('a1', 1), stop('a2', 1)], new Set());
    expect(stopped(plan)).toEqual(['a1@1:stopped', 'a2@1:stopped']);
    expect(plan.start).toEqual([]);
  });

  it('stops containers the desired state does not mention, running or exited', () => {
    const plan = planReconcile([container('gone', 1), container('done', 2, 'exited'), container('a1', 1)], [run('a1', 1)], new Set());
    expect(stopped(plan)).toEqual(['gone@1:not_desired', 'done@2:not_desired']);
  });

  it('stops a container of an epoch newer than any desired one as not desired', () => {
    const plan = planReconcile([container('a1', 3)], [run('a1', 2)], new Set([assignmentKey('a1', 2)]));
    expect(stopped(plan)).toEqual(['a1@3:not_desired']);
  });

  it('stops everything it was given when nothing is desired', () => {
    const plan = planReconcile([container('a1', 1), container('a2', 1)], [], new Set());
    expect(stopped(plan)).toEqual(['a1@1:not_desired', 'a2@1:not_desired']);
  });
});
