import { toProblem } from '../../../api/errors';
import { isDatabaseUnavailable } from '../../../infra/db/connection';

test('a database that cannot be reached is told apart from a statement that was wrong', () => {
  expect(isDatabaseUnavailable(Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:5432'), { code: 'ECONNREFUSED' }))).toBe(true);
  expect(isDatabaseUnavailable(Object.assign(new Error('terminating connection due to administrator command'), { code: '57P01' }))).toBe(true);
  expect(isDatabaseUnavailable(Object.assign(new Error('the database system is starting up'), { code: '57P03' }))).toBe(true);
  expect(isDatabaseUnavailable(Object.assign(new Error('connection failure'), { code: '08006' }))).toBe(true);
  expect(isDatabaseUnavailable(new Error('Connection terminated unexpectedly'))).toBe(true);
  expect(isDatabaseUnavailable(Object.assign(new Error('duplicate key value'), { code: '23505' }))).toBe(false);
  expect(isDatabaseUnavailable(Object.assign(new Error('syntax error'), { code: '42601' }))).toBe(false);
  expect(isDatabaseUnavailable('ECONNREFUSED')).toBe(false);
});

test('the API answers 503, not 500, while PostgreSQL is away', () => {
  const problem = toProblem(Object.assign(new Error('terminating connection due to unexpected postmaster exit'), { code: '57P01' }));
  expect(problem).toMatchObject({ status: 503 });
  expect(toProblem(Object.assign(new Error('duplicate key value'), { code: '23505' }))).toBeUndefined();
});
