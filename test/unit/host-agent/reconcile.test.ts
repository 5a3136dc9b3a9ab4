import type { LeaseContainer } from '../../../workers/host-agent/reconcile';
import { decideReconcile } from '../../../workers/host-agent/reconcile';

const NOW = 1_800_000_000_000;
const GRACE = 15_000;

function container(assignmentId: string, epoch: number, ageMs = 60_000): LeaseContainer {
  return {
    containerId: `c-${assignmentId}-${epoch}`,
    leaseId: 'lease-1',
    assignmentId,
    epoch,
    gpuId: 'h1-gpu0',
    state: 'running',
    createdAt: NOW - ageMs,
  };
}

const stoppedIds = (decision: ReturnType<typeof decideReconcile>) =>
  decision.stop.map(({ container: c, reason }) => `${c.assignmentId}@${c.epoch}:${reason}`);

describe('decideReconcile', () => {
  it('keeps containers whose assignment and epoch are live', () => {
    const decision = decideReconcile([container('a1', 1), container('a2', 3)], [
      { assignmentId: 'a1', epoch: 1 },
      { assignmentId: 'a2', epoch: 3 },
    ], NOW, GRACE);
    expect(decision.stop).toEqual([]);
    expect(decision.keep).toHaveLength(2);
  });

  it('stops a superseded epoch at once, however young', () => {
    const decision = decideReconcile([container('a1', 1, 1_000)], [{ assignmentId: 'a1', epoch: 2 }], NOW, GRACE);
    expect(stoppedIds(decision)).toEqual(['a1@1:superseded_epoch']);
  });

  it('stops an assignment that is no longer live once it is older than the grace', () => {
    const decision = decideReconcile([container('gone', 1, GRACE), container('a1', 1)], [
      { assignmentId: 'a1', epoch: 1 },
    ], NOW, GRACE);
    expect(stoppedIds(decision)).toEqual(['gone@1:not_live']);
    expect(decision.keep.map((c) => c.assignmentId)).toEqual(['a1']);
  });

  it('spares a just-started container the API does not know yet', () => {
    const decision = decideReconcile([container('new', 1, GRACE - 1)], [], NOW, GRACE);
    expect(decision.stop).toEqual([]);
    expect(decision.keep).toHaveLength(1);
  });

  it('spares a container of a newer epoch than the API has recorded while it is young', () => {
    const young = decideReconcile([container('a1', 3, 2_000)], [{ assignmentId: 'a1', epoch: 2 }], NOW, GRACE);
    expect(young.stop).toEqual([]);
    const old = decideReconcile([container('a1', 3)], [{ assignmentId: 'a1', epoch: 2 }], NOW, GRACE);
    expect(stoppedIds(old)).toEqual(['a1@3:not_live']);
  });

  it('stops exited containers of ended assignments too', () => {
    const exited = { ...container('done', 1), state: 'exited' as const };
    expect(stoppedIds(decideReconcile([exited], [], NOW, GRACE))).toEqual(['done@1:not_live']);
  });
});
