// Compiled twice: with experimentalDecorators (build/test) and with TC39 standard decorators (build/tc39).
import { expect } from 'chai';
import { ConfigError, Retry, Timeout, getResiliencePolicies } from '../../src/index.js';

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
      [
        'Symbol\\(tally\\)',
        () => {
          const tally = Symbol('tally');
          class Tally {
            @anyRetry
            [tally] = 0;
          }
          return Tally;
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

describe('decorators: two of one kind', () => {
  it('refuses being applied to a value that is neither a class nor a member, naming no member', () => {
    expect(() => anyTimeout({})).to.throw(
      ConfigError,
      /^dspu decorators apply to methods and classes only$/,
    );
  });

  it('refuses a second decorator of the same kind on a method at class definition, naming both', () => {
    expect(() => {
      class Orders {
        @Retry({ maxAttempts: 5 })
        @Retry({ maxAttempts: 2 })
        async place(): Promise<string> {
          return 'placed';
        }
      }
      return Orders;
    })
      .to.throw(ConfigError)
      .with.property('message')
      .that.matches(
        /^place: @Retry applied twice; one policy of each kind applies to a method or a class: put both options in one decorator, or name a configured policy$/,
      );
  });

  it('refuses a second decorator of the same kind on a class', () => {
    expect(() => {
      @Timeout('1s')
      @Timeout('2s')
      class Reports {
        async build(): Promise<string> {
          return 'built';
        }
      }
      return Reports;
    })
      .to.throw(ConfigError)
      .with.property('message')
      .that.matches(/^the class: @Timeout applied twice/);
  });

  it("lets a method's own decorator and its class's of the same kind both be written (the method's wins)", async () => {
    @Timeout('1s')
    class Reports {
      @Timeout('2s')
      async build(): Promise<string> {
        return 'built';
      }
    }
    expect(await new Reports().build()).to.equal('built');
  });

  it('leaves accessors of a class it decorates as written, and the class can be defined', () => {
    const define = () => {
      @Timeout('1s')
      class Cart {
        items = 2;
        get total(): number {
          return this.items * 10;
        }
        set total(value: number) {
          this.items = value / 10;
        }
      }
      return Cart;
    };
    expect(define).not.to.throw();
    const cart = new (define())();
    cart.total = 50;
    expect(cart.total).to.equal(50);
  });

  it('leaves an async generator method of a class it decorates as written: it still iterates, under no policy', async () => {
    @Retry({ maxAttempts: 2 })
    class Feed {
      async *items(): AsyncGenerator<number> {
        yield 1;
        yield 2;
      }
    }
    const items: number[] = [];
    for await (const item of new Feed().items()) items.push(item);
    expect(items).to.deep.equal([1, 2]);
    expect(getResiliencePolicies(Feed, 'items')).to.deep.equal([]);
  });
});
