// Every policy configured from one JSON file and used by name from a decorated class; then a broken copy of the
// file, refused as a whole with every problem listed by path.
import { readFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  CircuitBreaker,
  CircuitBreakerError,
  ConfigError,
  Concurrency,
  RateLimited,
  Retry,
  Timeout,
  currentSignal,
  registry,
  type PolicyKind,
  type ResilienceConfig,
} from 'dspu';

// JSON files stay in the source tree: read them from there, relative to this file once compiled.
const loadPolicies = (name: string) =>
  JSON.parse(
    readFileSync(new URL(`../../../samples/registry/${name}`, import.meta.url), 'utf8'),
  ) as ResilienceConfig;

const started = Date.now();
function log(message: string): void {
  console.log(`${String(Date.now() - started).padStart(5)} ms  ${message}`);
}

/** A remote call's delay, for the stand-in services below. */
const latency = () => sleep(2);

/** Names only: what each policy does is in policies.json, and can change without touching this class. */
class OrderService {
  private stockCalls = 0;
  private paymentsUp = false;

  @Retry('inventory')
  @Concurrency('db')
  async reserveStock(sku: string): Promise<string> {
    await latency();
    if (++this.stockCalls <= 2) throw new Error(`inventory busy (call ${this.stockCalls})`);
    return `reserved ${sku}`;
  }

  @CircuitBreaker('payments')
  async charge(amount: number): Promise<string> {
    await latency();
    if (!this.paymentsUp) throw new Error('payment provider unreachable');
    return `charged ${amount}`;
  }

  @RateLimited('partnerApi')
  async notifyPartner(orderId: number): Promise<number> {
    await latency();
    return orderId;
  }

  @Timeout('report')
  async salesReport(): Promise<string> {
    await sleep(1_000, undefined, { signal: currentSignal() }); // aborted at the deadline
    return 'report';
  }
}

registry.configure(loadPolicies('policies.json'));
const kinds: PolicyKind[] = ['retry', 'circuitBreaker', 'rateLimiter', 'timeout', 'concurrency'];
log(
  `configured from policies.json: ${kinds.map((k) => `${k} [${registry.names(k).join(', ')}]`).join(', ')}`,
);
registry.on('retry', ({ name, attempt, delay, error }) =>
  log(
    `  retry "${name}": try ${attempt} failed (${(error as Error).message}), next in ${delay} ms`,
  ),
);
registry.on('stateChange', ({ name, from, to }) => log(`  circuit "${name}": ${from} -> ${to}`));
registry.on('timeout', ({ name, timeout }) => log(`  timeout "${name}": ${timeout} ms passed`));
let throttled = 0;
registry.on('throttled', () => void throttled++);

const service = new OrderService();

log('reserveStock (retry "inventory", concurrency "db"):');
log(`  ${await service.reserveStock('sku-42')}`);

log('charge (circuit breaker "payments", 3 failures open it):');
for (let i = 1; i <= 4; i++) {
  try {
    await service.charge(10 * i);
  } catch (error) {
    const kind = error instanceof CircuitBreakerError ? 'rejected at once' : 'failed';
    log(`  charge ${i} ${kind}: ${(error as Error).message}`);
  }
}
log(`  registry.circuitBreaker('payments').state = ${registry.circuitBreaker('payments').state}`);

log('notifyPartner x25 (rate limiter "partnerApi", 20 per second):');
const before = Date.now();
await Promise.all(Array.from({ length: 25 }, (_, i) => service.notifyPartner(i)));
log(`  25 notifications in ${Date.now() - before} ms; ${throttled} waited for a token`);

log('salesReport (timeout "report"):');
try {
  await service.salesReport();
} catch (error) {
  log(`  ${String(error)}`);
}

log('configure from policies.broken.json:');
try {
  registry.configure(loadPolicies('policies.broken.json'));
} catch (error) {
  if (!(error instanceof ConfigError)) throw error;
  log(`  ${error.name} ${error.code}, ${error.problems.length} problems:`);
  for (const problem of error.problems) log(`    ${problem}`);
}
log(
  `  nothing changed: retry names [${registry.names('retry').join(', ')}], payments still ${registry.circuitBreaker('payments').state}`,
);
