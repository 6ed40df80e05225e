import { expect } from 'chai';
import { ConfigError, toMs } from '../../src/index.js';

describe('durations', () => {
  it('reads a number as milliseconds', () => {
    expect(toMs(250, 'd')).to.equal(250);
    expect(toMs(0, 'd')).to.equal(0);
  });

  it('reads the string units ms, s, m and h, with decimals', () => {
    expect(toMs('250ms', 'd')).to.equal(250);
    expect(toMs('1s', 'd')).to.equal(1000);
    expect(toMs('1.5s', 'd')).to.equal(1500);
    expect(toMs('2m', 'd')).to.equal(120_000);
    expect(toMs('1h', 'd')).to.equal(3_600_000);
  });

  it('rejects anything else with a ConfigError naming the option and the value', () => {
    expect(() => toMs('30', 'circuitBreaker.timeout')).to.throw(
      ConfigError,
      /^circuitBreaker\.timeout: expected a duration .*, got "30"$/,
    );
    for (const bad of [
      '-1s',
      '1.s',
      '.5s',
      '1S',
      ' 1s',
      '1s ',
      '1e3ms',
      'Infinityms',
      true,
      [],
      () => 1,
    ]) {
      expect(() => toMs(bad, 'd'), String(bad)).to.throw(ConfigError);
    }
  });

  it('rejects durations above 2^31 - 1 ms, which setTimeout would silently turn into 1 ms', () => {
    expect(toMs(2 ** 31 - 1, 'd')).to.equal(2 ** 31 - 1);
    expect(() => toMs(2 ** 31, 'd')).to.throw(ConfigError, /at most|between/);
    expect(() => toMs('1000h', 'd')).to.throw(ConfigError, /at most 2147483647 ms/);
  });

  it('parses a very long malformed string in linear time', () => {
    const start = process.hrtime.bigint();
    expect(() => toMs('1'.repeat(1_000_000) + 'x', 'd')).to.throw(ConfigError);
    expect(Number(process.hrtime.bigint() - start) / 1e6).to.be.below(100);
  });
});
