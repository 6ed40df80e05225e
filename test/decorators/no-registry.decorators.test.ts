// Compiled twice: with experimentalDecorators (build/test) and with TC39 standard decorators (build/tc39).
import { expect } from 'chai';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const decorators = fileURLToPath(new URL('../../src/decorators/index.js', import.meta.url));
const engine = fileURLToPath(
  new URL('../../src/patterns/circuit-breaker/circuit-breaker.js', import.meta.url),
);

/*
 * A program that imports the decorators and never dspu's registry builds its engines without one. That is fixed
 * when the process loads dspu, and this test process has loaded the registry: the program runs in a child,
 * which applies the decorators by hand (as compiled legacy decorators do) and prints what its calls did.
 */
const program = `
  import { CircuitBreaker, Retry } from ${JSON.stringify(decorators)};
  import { CircuitBreaker as Breaker } from ${JSON.stringify(engine)};
  class Svc {
    async inline() { throw new Error('down'); }
    async instance() { throw new Error('down'); }
    async named() { return 'ran'; }
  }
  const decorate = (decorator, key) => {
    const descriptor = Object.getOwnPropertyDescriptor(Svc.prototype, key);
    decorator(Svc.prototype, key, descriptor);
    Object.defineProperty(Svc.prototype, key, descriptor);
  };
  const breaker = new Breaker({ failureThreshold: 1 });
  decorate(CircuitBreaker({ failureThreshold: 1 }), 'inline');
  decorate(CircuitBreaker(breaker), 'instance');
  decorate(Retry('payments'), 'named');
  const outcome = (promise) => promise.then((value) => value, (error) => error.name + ': ' + error.message);
  const out = {
    inline: [await outcome(new Svc().inline()), await outcome(new Svc().inline())],
    instance: [await outcome(new Svc().instance()), breaker.state],
    named: await outcome(new Svc().named()),
  };
  console.log(JSON.stringify(out));
`;

describe('decorators: a program that uses no registry', function () {
  this.timeout(30_000);

  it('makes an inline engine once per method, uses an instance as itself, and refuses a name saying where names come from', () => {
    const child = spawnSync(process.execPath, ['--input-type=module', '-e', program], {
      encoding: 'utf8',
      timeout: 20_000,
    });
    expect(child.status, child.stderr).to.equal(0);
    const out = JSON.parse(child.stdout) as Record<string, unknown>;
    expect(out.inline).to.have.lengthOf(2);
    expect((out.inline as string[])[0]).to.equal('Error: down');
    expect((out.inline as string[])[1]).to.match(/^CircuitBreakerError: /);
    expect(out.instance).to.deep.equal(['Error: down', 'open']);
    expect(out.named).to.equal(
      'ConfigError: Svc.named retry: "payments" names a registry policy, and this program uses no registry: ' +
        "configure dspu's (import { registry } from 'dspu')",
    );
  });
});
