/** Rejection reasons carry host-supplied text: only the rule they name becomes a metric label. */
import { RECEIPT_REJECTION_REASONS, receiptRejectionLabel } from '../../../api/metrics';

describe('receiptRejectionLabel', () => {
  test.each([
    ['receipt without a valid seq', 'invalid_seq'],
    ['seq 7: after broken chain at seq 3', 'after_broken_chain'],
    ['seq 2: conflicting duplicate of an accepted receipt', 'conflicting_duplicate'],
    ['seq 2: malformed receipt (telemetry)', 'malformed'],
    ['seq 9: skipped seq (expected 4)', 'skipped_seq'],
    ['seq 1: prevHash does not match the previous receipt', 'prev_hash_mismatch'],
    ['seq 1: wrong leaseId "lease-x" (expected "lease-y")', 'wrong_lease_id'],
    ['seq 1: wrong assignmentId "a" (expected "b")', 'wrong_assignment_id'],
    ['seq 1: wrong hostId "a" (expected "b")', 'wrong_host_id'],
    ['seq 1: wrong gpuId "a" (expected "b")', 'wrong_gpu_id'],
    ['seq 1: wrong epoch 3 (expected 2)', 'wrong_epoch'],
    ['seq 1: wrong period 12 (expected 4)', 'wrong_period'],
    ['seq 1: wrong challenge seed', 'wrong_challenge_seed'],
    ['seq 1: wrong challenge answer', 'wrong_challenge_answer'],
    ['seq 1: time went backwards (at 5 <= previous 6)', 'time_backwards'],
    ['seq 1: time in the future (at 99, now 1)', 'time_in_future'],
    ['seq 0: dated before the assignment started (at 1, started 2)', 'before_assignment_start'],
    ['seq 1: hash does not match body', 'hash_mismatch'],
    ['seq 1: bad signature', 'bad_signature'],
    ["seq 0: assignment asg-1 is not one of host h-1's", 'not_hosts_assignment'],
    ['seq 0: the assignment has ended: nothing after its end is paid', 'assignment_ended'],
    ['something new', 'other'],
    ['', 'other'],
  ])('%s → %s', (reason, label) => {
    expect(receiptRejectionLabel(reason)).toBe(label);
  });

  test('a host cannot make a new label, whatever it puts into a reason', () => {
    const hostile = [
      'seq 1: wrong leaseId "x\ny" (expected "z")',
      "seq 0: assignment a\nb'c is not one of host h's",
      'seq 1: bad signature} evil{x="1"',
      'seq 123456789: wrong period "🙂" (expected 1)',
      `seq 1: ${'z'.repeat(10_000)}`,
      'wrong_lease_id',
    ];
    for (let i = 0; i < 1000; i++) hostile.push(`seq ${i}: wrong gpuId "gpu-${i}" (expected "g")`, `seq 0: assignment asg-${i} is not one of host h-${i}'s`);
    const labels = new Set(hostile.map(receiptRejectionLabel));
    for (const label of labels) expect(RECEIPT_REJECTION_REASONS).toContain(label);
    expect([...labels].sort()).toEqual(['not_hosts_assignment', 'other', 'wrong_gpu_id', 'wrong_lease_id', 'wrong_period'].sort());
  });
});
