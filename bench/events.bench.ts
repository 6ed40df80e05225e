/*
 * What listening costs. The same decorated stack (Retry → CircuitBreaker → RateLimited → Timeout →
 * Concurrency, all named policies of one registry) runs a call that succeeds at once, in registries that
 * differ only in who listens:
 *
 * - nobody: engines check `events.has()` and build nothing;
 * - a listener added and removed again: must cost the same as nobody (forwarding is undone);
 * - a listener for `stateChange` only: engines forward their per-call events, which nobody reads;
 * - a `'*'` listener: every event is built, forwarded and delivered;
 * - `instrument()` from dspu/otel with an SDK meter: events plus OpenTelemetry recording.
 *
 * Target: "nobody" and "added and removed" within 5 % of each other (no listener, no cost).
 */
import { MeterProvider, MetricReader } from '@opentelemetry/sdk-metrics';
import {
  CircuitBreaker,
  Concurrency,
  RateLimited,
  ResilienceRegistry,
  Retry,
  Timeout,
  bindRegistry,
} from '../src/index.js';
import { instrument } from '../src/otel/index.js';
import { BenchGroup, environment } from './harness.js';

class QuietReader extends MetricReader {
  protected onShutdown(): Promise<void> {
    return Promise.resolve();
  }

  protected onForceFlush(): Promise<void> {
    return Promise.resolve();
  }
}

// A class per registry: each gets a pipeline of its own, so the cases share no engine.
function decoratedStack(registry: ResilienceRegistry): () => Promise<number> {
  class Service {
    @Retry('api')
    @CircuitBreaker('api')
    @RateLimited('api')
    @Timeout('api')
    @Concurrency('api')
    async call(): Promise<number> {
      return 1;
    }
  }
  const service = bindRegistry(new Service(), registry);
  return () => service.call();
}

function policies(): ResilienceRegistry {
  return new ResilienceRegistry({
    retry: { api: { maxAttempts: 3 } },
    circuitBreaker: { api: { failureThreshold: 5 } },
    // A rate no case ever waits for: this measures admission, not waiting.
    rateLimiter: { api: { rate: 1e12, per: '1s' } },
    timeout: { api: '10s' },
    concurrency: { api: { limit: 1000 } },
  });
}

const nobody = policies();
const removed = policies();
const stateChanges = policies();
const everything = policies();
const otel = policies();

// Build every pipeline first, so listeners attach to engines that already exist (the usual case).
const cases = {
  nobody: decoratedStack(nobody),
  removed: decoratedStack(removed),
  stateChanges: decoratedStack(stateChanges),
  everything: decoratedStack(everything),
  otel: decoratedStack(otel),
};
for (const call of Object.values(cases)) await call();

removed.on('*', () => undefined)();
stateChanges.on('stateChange', () => undefined);
let delivered = 0;
everything.on('*', () => {
  delivered++;
});
const provider = new MeterProvider({ readers: [new QuietReader()] });
instrument(otel, { meter: provider.getMeter('bench') });

console.log(`listening to a decorated five-policy stack, call succeeds at once (${environment()})`);

const result = await new BenchGroup('decorated stack, by who listens to the registry', {
  repeats: 9,
  sampleMs: 100,
})
  .add('nobody listens', cases.nobody)
  .add('a listener added, then removed', cases.removed)
  .add("registry.on('stateChange') only", cases.stateChanges)
  .add("registry.on('*')", cases.everything)
  .add('instrument(registry, { meter }) from dspu/otel', cases.otel)
  .run();

const quiet = result.ratio('nobody listens');
const after = result.ratio('a listener added, then removed');
const drift = Math.abs(after / quiet - 1);
console.log(
  `target "added then removed" within 5% of "nobody": ${(drift * 100).toFixed(1)}%, ${drift <= 0.05 ? 'met' : 'MISSED'}`,
);
const base = result.baselineNs;
for (const name of [
  "registry.on('stateChange') only",
  "registry.on('*')",
  'instrument(registry, { meter }) from dspu/otel',
]) {
  const extra = (result.ratio(name) - quiet) * base;
  console.log(`${name}: +${Math.round(extra)} ns per call over nobody listening`);
}
console.log(`('*' listener saw ${delivered} events)`);
await provider.shutdown();
