/** Temporal's update errors, as the SDK raises them, in the API's words. */
import { WorkflowUpdateFailedError } from '@temporalio/client';
import { ApplicationFailure, WorkflowNotFoundError } from '@temporalio/common';
import { LeaseNotRunningError, LeaseUpdateRejectedError } from '../../../api/lease-orchestrator';
import { translateUpdateError } from '../../../infra/temporal/lease-orchestrator';

describe('translateUpdateError', () => {
  test('a workflow that is gone (closed, never started) → LeaseNotRunningError', () => {
    const err = translateUpdateError('l1', new WorkflowNotFoundError('workflow execution already completed', 'lease-l1', undefined));
    expect(err).toBeInstanceOf(LeaseNotRunningError);
    expect((err as Error).message).toMatch(/lease l1/);
  });

  test('a validator throwing a plain error is a state conflict, carrying its message', () => {
    const cause = ApplicationFailure.create({ message: 'lease is closing; it cannot be extended', type: 'Error' });
    const err = translateUpdateError('l1', new WorkflowUpdateFailedError('Workflow Update failed', cause));
    expect(err).toEqual(new LeaseUpdateRejectedError('lease is closing; it cannot be extended', 'conflict'));
    expect((err as LeaseUpdateRejectedError).kind).toBe('conflict');
  });

  test.each(['InvalidArgument', 'ValidationError', 'RangeError', 'TypeError'])('a %s failure is an invalid request', (type) => {
    const cause = ApplicationFailure.create({ message: 'seconds out of range', type });
    const err = translateUpdateError('l1', new WorkflowUpdateFailedError('Workflow Update failed', cause));
    expect(err).toBeInstanceOf(LeaseUpdateRejectedError);
    expect((err as LeaseUpdateRejectedError).kind).toBe('invalid');
  });

  test('anything else passes through unchanged (a 5xx)', () => {
    const boom = new Error('14 UNAVAILABLE: connection refused');
    expect(translateUpdateError('l1', boom)).toBe(boom);
  });
});
