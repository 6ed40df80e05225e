// Compiled twice: with experimentalDecorators (build/test) and with TC39 standard decorators (build/tc39).
import { expect } from 'chai';
import { ConfigError, Resilient } from '../../src/index.js';

describe('decorators: @Resilient options', () => {
  it('refuses an order inherited from a prototype: only own options count', () => {
    const inherited = Object.create({ order: ['timeout', 'retry'] }) as { order: never };
    expect(() => Resilient(inherited)).to.throw(ConfigError, /^order: expected an array/);
  });

  it('refuses an unknown option: a typo must not pass unnoticed', () => {
    const options = { order: ['timeout', 'retry'], ordr: ['retry'] } as never;
    expect(() => Resilient(options)).to.throw(
      ConfigError,
      /^ordr: unknown option \(known: order\)/,
    );
  });

  it('reads the order once', () => {
    let reads = 0;
    const options = {
      get order() {
        reads++;
        return ['timeout', 'retry'];
      },
    } as never;
    expect(() => Resilient(options)).not.to.throw();
    expect(reads).to.equal(1);
  });
});
