import { expect } from 'chai';
import sinon from 'sinon';
import {
  CircuitBreaker,
  CircuitBreakerError,
  ConfigError,
  FallbackPolicy,
  fallback,
  Invocation,
} from '../../../src/index.js';
import { rejection } from '../../support/rejection.js';

class NetworkError extends Error {}

describe('fallback', () => {
  it('returns the value of a call that succeeds, without calling the handler', async () => {
    const handler = sinon.fake.returns('cached');
    const getUser = fallback(async (id: number) => `user ${id}`, handler);
    expect(await getUser(7)).to.equal('user 7');
    expect(handler.callCount).to.equal(0);
  });

  it('answers with the handler, which receives the error and the original arguments', async () => {
    const error = new NetworkError('down');
    const handler = sinon.fake((_error: unknown, id: number, name: string) => `${name}#${id}`);
    const getUser = fallback(
      async (_id: number, _name: string): Promise<string> => Promise.reject(error),
      handler,
    );
    expect(await getUser(7, 'ada')).to.equal('ada#7');
    expect(handler.firstCall.args).to.deep.equal([error, 7, 'ada']);
  });

  it('awaits an async handler', async () => {
    const load = fallback(
      () => Promise.reject(new NetworkError('down')),
      async () => 'from disk',
    );
    expect(await load()).to.equal('from disk');
  });

  it('handles a synchronous throw of the wrapped function', async () => {
    const parse = fallback(
      (text: string): unknown => JSON.parse(text),
      () => null,
    );
    expect(await parse('{not json')).to.equal(null);
  });

  it('rethrows errors outside `exceptions` unchanged', async () => {
    const other = new TypeError('bug');
    const load = fallback(
      () => Promise.reject(other),
      () => 'fallback',
      { exceptions: [NetworkError] },
    );
    expect(await rejection(load())).to.equal(other);
  });

  it('rejects with the handler’s own error when the handler fails', async () => {
    const broken = new Error('cache down too');
    const load = fallback(
      () => Promise.reject(new NetworkError('down')),
      () => {
        throw broken;
      },
    );
    expect(await rejection(load())).to.equal(broken);
  });

  it('keeps `this` for the wrapped function and the handler', async () => {
    const service = {
      prefix: 'svc',
      get: fallback(
        async function (this: { prefix: string }, id: number): Promise<string> {
          if (id < 0) throw new NetworkError(this.prefix);
          return `${this.prefix}:${id}`;
        },
        function (this: { prefix: string }, _error, id) {
          return `${this.prefix}:fallback:${id}`;
        },
      ),
    };
    expect(await service.get(1)).to.equal('svc:1');
    expect(await service.get(-1)).to.equal('svc:fallback:-1');
  });

  it('serves a cached value while the circuit is open (the seed’s graceful degradation)', async () => {
    const breaker = new CircuitBreaker({ failureThreshold: 3, timeout: '30s' });
    const cache = new Map([[1, 'cached user 1']]);
    const api = sinon.fake.rejects(new NetworkError('down'));
    const getUser = fallback(
      (id: number) => breaker.protect(() => api(id) as Promise<string>),
      (_error, id) => cache.get(id) ?? 'default user',
      { exceptions: [CircuitBreakerError] },
    );
    for (let i = 0; i < 3; i++) await getUser(1).catch(() => undefined);
    expect(await getUser(1)).to.equal('cached user 1');
    expect(await getUser(2)).to.equal('default user');
    expect(api.callCount).to.equal(3);
  });

  it('rejects a handler or function that is not a function, and unknown options, at once', () => {
    expect(() => fallback(async () => 1, 'value' as never)).to.throw(
      ConfigError,
      /handler: expected a function/,
    );
    expect(() => fallback('fn' as never, () => 1)).to.throw(ConfigError, /fn: expected a function/);
    expect(() =>
      fallback(
        async () => 1,
        () => 1,
        { exception: [] } as never,
      ),
    ).to.throw(ConfigError, /exception: unknown option/);
  });

  describe('FallbackPolicy', () => {
    it('runs a thunk and hands the given arguments to the handler', async () => {
      const policy = new FallbackPolicy((error: unknown, key: string) => `${key}:${String(error)}`);
      const value = await policy.execute(() => Promise.reject(new Error('x')), ['k']);
      expect(value).to.equal('k:Error: x');
    });

    it('calls the handler with the given `this` through executeWith', async () => {
      const self = { name: 'repo' };
      const policy = new FallbackPolicy(function (this: typeof self) {
        return this.name;
      });
      const failing = () => Promise.reject(new Error('1'));
      expect(await policy.executeWith(failing, new Invocation(self, [1]))).to.equal('repo');
    });

    it('emits a `fallback` event with the error it answered', async () => {
      const policy = new FallbackPolicy(() => 0);
      const errors: unknown[] = [];
      policy.events.on('fallback', ({ error }) => errors.push(error));
      const error = new NetworkError('down');
      await policy.execute(() => Promise.reject(error));
      expect(errors).to.deep.equal([error]);
    });
  });
});
