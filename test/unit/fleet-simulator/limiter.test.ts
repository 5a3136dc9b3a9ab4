import { Limiter } from '../../../workers/fleet-simulator/limiter';

const tick = () => new Promise((resolve) => setImmediate(resolve));

describe('Limiter', () => {
  it('never runs more than its limit at once, and runs everything in arrival order', async () => {
    const limiter = new Limiter(3);
    let running = 0;
    let most = 0;
    const order: number[] = [];
    const releases: (() => void)[] = [];
    let newcomer: Promise<unknown> | undefined;
    const tasks = [...Array(10).keys()].map((i) =>
      limiter.run(async () => {
        running += 1;
        most = Math.max(most, running);
        order.push(i);
        await new Promise<void>((resolve) => releases.push(resolve));
        running -= 1;
        return i;
      }),
    );
    while (order.length < 10) {
      await tick();
      expect(limiter.running).toBeLessThanOrEqual(3);
      // A newcomer arriving while a slot is handed over must wait its turn too.
      if (order.length === 5) newcomer ??= limiter.run(async () => order.push(99));
      releases.shift()?.();
    }
    releases.forEach((release) => release());
    expect(await Promise.all(tasks)).toEqual([...Array(10).keys()]);
    await newcomer;
    expect(most).toBe(3);
    expect(order).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 99]);
    expect(limiter.running).toBe(0);
  });

  it('frees the slot of a task that fails', async () => {
    const limiter = new Limiter(1);
    await expect(limiter.run(() => Promise.reject(new Error('boom')))).rejects.toThrow('boom');
    expect(await limiter.run(async () => 'next')).toBe('next');
    expect(limiter.running).toBe(0);
  });

  it('refuses a limit below 1', () => {
    expect(() => new Limiter(0)).toThrow(/positive integer/);
  });
});
