import { expect } from 'chai';
import { seededRandom } from '../../bench/overload/random.js';
import {
  ServerError,
  SimulatedServer,
  fixedLatency,
  mixedLatency,
} from '../../bench/overload/server.js';
import { observe, useFakeClock } from '../support/fake-clock.js';

describe('simulated server', () => {
  const time = useFakeClock();

  it('serves `capacity` requests at once and queues the rest in arrival order', async () => {
    const server = new SimulatedServer({
      capacity: 2,
      latency: fixedLatency(100),
      random: seededRandom(1),
    });
    const done: number[] = [];
    for (let i = 0; i < 5; i++) void server.handle().then(() => done.push(Date.now()));
    expect(server.busy).to.equal(2);
    expect(server.queued).to.equal(3);
    await time.clock.tickAsync(300);
    expect(done).to.deep.equal([100, 100, 200, 200, 300]);
  });

  it('serves more at once as soon as its capacity grows', async () => {
    const server = new SimulatedServer({
      capacity: 1,
      latency: fixedLatency(100),
      random: seededRandom(1),
    });
    const calls = [observe(server.handle()), observe(server.handle())];
    server.setCapacity(2);
    await time.clock.tickAsync(100);
    expect(calls.every((c) => c.settled)).to.equal(true);
  });

  it('fails the share of requests it is told to, after their service time', async () => {
    const server = new SimulatedServer({
      capacity: 1_000,
      latency: fixedLatency(10),
      failureRate: 0.5,
      random: seededRandom(7),
    });
    const calls = Array.from({ length: 1_000 }, () => observe(server.handle()));
    await time.clock.tickAsync(9);
    expect(calls.some((c) => c.settled)).to.equal(false);
    await time.clock.tickAsync(1);
    const failed = calls.filter((c) => c.error instanceof ServerError).length;
    expect(failed).to.be.within(450, 550);
  });

  it('lets a request whose signal aborts leave the queue; one being served runs to its end', async () => {
    const server = new SimulatedServer({
      capacity: 1,
      latency: fixedLatency(100),
      random: seededRandom(1),
    });
    const serving = new AbortController();
    const queued = new AbortController();
    const first = observe(server.handle(serving.signal));
    const second = observe(server.handle(queued.signal));
    serving.abort();
    queued.abort();
    await time.clock.tickAsync(0);
    expect(second.error).to.be.instanceOf(Error);
    await time.clock.tickAsync(100);
    expect(first.settled && first.error === undefined).to.equal(true);
    expect(server.completed).to.equal(1);
  });

  it('draws service times from a mixed latency model (a long tail)', () => {
    const model = mixedLatency([
      [0.98, 10],
      [0.02, 1_000],
    ]);
    const random = seededRandom(3);
    const draws = Array.from({ length: 10_000 }, () => model(random));
    const slow = draws.filter((ms) => ms === 1_000).length;
    expect(slow).to.be.within(150, 250);
    expect(draws.every((ms) => ms === 10 || ms === 1_000)).to.equal(true);
  });

  it('gives the same draws for the same seed', () => {
    const a = seededRandom(42);
    const b = seededRandom(42);
    expect(Array.from({ length: 5 }, a)).to.deep.equal(Array.from({ length: 5 }, b));
  });
});
