import { failoverSeconds, replacedFaultAt, type RankPredecessor } from '../../../domain/failover-timing';

const at = (s: number) => Date.UTC(2026, 11, 1, 12, 0, s);

describe('failover timing', () => {
  it('times a replacement from the fault signalled on the assignment it replaces', () => {
    const rank: RankPredecessor[] = [{ epoch: 1, endReason: 'host_lost', faultSignalledAt: at(10) }];
    expect(replacedFaultAt(2, rank)).toBe(at(10));
    expect(failoverSeconds(at(10), at(13) + 250)).toBe(3.25);
  });

  it('does not count a rank’s first start, or a start that replaced a start that failed', () => {
    expect(replacedFaultAt(1, [])).toBeNull();
    expect(replacedFaultAt(2, [{ epoch: 1, endReason: 'start_failed', faultSignalledAt: null }])).toBeNull();
  });

  it('keeps timing a failover whose first replacements did not start, from the original fault', () => {
    const rank: RankPredecessor[] = [
      { epoch: 1, endReason: 'host_unhealthy', faultSignalledAt: at(5) },
      { epoch: 3, endReason: 'start_failed', faultSignalledAt: null },
      { epoch: 4, endReason: 'start_failed', faultSignalledAt: null },
    ];
    expect(replacedFaultAt(5, rank)).toBe(at(5));
  });

  it('ignores later epochs and ends that are no failover (a container that exited is not replaced)', () => {
    const rank: RankPredecessor[] = [
      { epoch: 1, endReason: 'host_lost', faultSignalledAt: at(1) },
      { epoch: 2, endReason: 'container_exited', faultSignalledAt: at(2) },
      { epoch: 7, endReason: 'host_lost', faultSignalledAt: at(7) },
    ];
    expect(replacedFaultAt(3, rank)).toBeNull();
    expect(replacedFaultAt(2, rank)).toBe(at(1));
  });

  it('never reports a negative duration', () => {
    expect(failoverSeconds(at(10), at(9))).toBe(0);
  });
});
