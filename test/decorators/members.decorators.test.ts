// Compiled twice: with experimentalDecorators (build/test) and with TC39 standard decorators (build/tc39).
import { expect } from 'chai';
import { ConfigError, Retry, Timeout } from '../../src/index.js';

// The decorators' types refuse these members; plain JavaScript, or a cast, reaches the run-time check.
const anyRetry = Retry({ maxAttempts: 2 }) as never as (...args: unknown[]) => never;
const anyTimeout = Timeout('1s') as never as (...args: unknown[]) => never;

describe('decorators: members that are not methods', () => {
  it('refuses a getter, a setter and a field at class definition, with a ConfigError naming the member', () => {
    const definitions: [string, () => unknown][] = [
      [
        'total',
        () => {
          class Cart {
            @anyRetry
            get total(): number {
              return 1;
            }
          }
          return Cart;
        },
      ],
      [
        'limit',
        () => {
          class Quota {
            @anyTimeout
            set limit(_value: number) {}
          }
          return Quota;
        },
      ],
      [
        'count',
        () => {
          class Counter {
            @anyRetry
            count = 0;
          }
          return Counter;
        },
      ],
    ];
    for (const [member, define] of definitions) {
      expect(define, member)
        .to.throw(ConfigError)
        .with.property('message')
        .that.matches(new RegExp(`^${member}: dspu decorators apply to methods`));
    }
  });
});
