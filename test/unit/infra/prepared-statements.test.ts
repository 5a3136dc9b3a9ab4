/** Which statement texts get a prepared-statement name, and when PostgreSQL's refusal of a stale one is recognised. */
import { isStalePreparedStatement, StatementNames } from '../../../infra/db/prepared-statements';

describe('StatementNames', () => {
  test('one name per text, the same at every call, and different texts never share one', () => {
    const names = new StatementNames();
    const a = names.nameOf('select 1 where $1');
    const b = names.nameOf('select 2 where $1');
    expect(a).toMatch(/^lease_engine_\d+$/);
    expect(b).toMatch(/^lease_engine_\d+$/);
    expect(a).not.toBe(b);
    expect(names.nameOf('select 1 where $1')).toBe(a);
  });

  test('goes unnamed past its bound on texts, and for a text longer than its bound on characters', () => {
    const names = new StatementNames({ texts: 2, chars: 20 });
    expect(names.nameOf('q1 $1')).toBeDefined();
    expect(names.nameOf('x'.repeat(21))).toBeUndefined();
    expect(names.nameOf('q2 $1')).toBeDefined();
    expect(names.nameOf('q3 $1')).toBeUndefined();
    // Texts named before the bound keep their names.
    expect(names.nameOf('q1 $1')).toBeDefined();
  });

  test('a renamed text is prepared afresh under a name never used before', () => {
    const names = new StatementNames();
    const first = names.nameOf('select $1');
    names.rename('select $1');
    const second = names.nameOf('select $1');
    expect(second).toBeDefined();
    expect(second).not.toBe(first);
  });
});

describe('isStalePreparedStatement', () => {
  test.each([
    [{ code: '0A000', message: 'cached plan must not change result type' }, true],
    [{ code: '0A000', message: 'some other unsupported feature' }, false],
    [{ code: '42P05', message: 'prepared statement "x" already exists' }, false],
    [new Error('cached plan must not change result type'), false],
    [null, false],
  ])('%j → %s', (error, stale) => {
    expect(isStalePreparedStatement(error)).toBe(stale);
  });
});
