import { expect } from 'chai';
import {
  ResilienceRegistry,
  type EventEmitter,
  type PolicyKind,
  type RegistryEvents,
  type ResilienceConfig,
} from '../../src/index.js';

/** What a scenario saw of one event type: on the engine itself, and re-emitted by the registry. */
export interface Seen {
  readonly direct: unknown[];
  readonly registry: unknown[];
}

/**
 * Runs `scenario` twice on an engine of `kind` configured as `name`: once listening to the engine's own
 * `events`, once listening to a fresh registry that holds the engine. Each run gets its own registry, so the
 * two runs start from the same state.
 */
export async function bothWays<E>(
  kind: Exclude<PolicyKind, 'fallback'>,
  type: keyof RegistryEvents,
  entry: unknown,
  scenario: (engine: E) => Promise<void>,
  name = 'api',
): Promise<Seen> {
  const config = { [kind]: { [name]: entry } } as ResilienceConfig;
  const direct: unknown[] = [];
  const own = new ResilienceRegistry(config).get(kind, name) as unknown as E & {
    events: EventEmitter<Record<string, object>>;
  };
  const off = own.events.on(type, (event) => direct.push(event));
  await scenario(own);
  off();

  const registry = new ResilienceRegistry(config);
  const sourced: unknown[] = [];
  const stop = registry.on(type as 'success', (event) => sourced.push(event));
  await scenario(registry.get(kind, name) as unknown as E);
  stop();
  return { direct, registry: sourced };
}

/** `payload` as the registry re-emits it: with the engine's kind and name. */
export function sourced(kind: PolicyKind, payload: object, name = 'api'): object {
  return { ...payload, kind, name };
}

/** Checks that the engine emitted exactly `payloads` and the registry the same with `kind` and `name`. */
export function expectBoth(seen: Seen, kind: PolicyKind, payloads: object[], name = 'api'): void {
  expect(seen.direct).to.deep.equal(payloads);
  expect(seen.registry).to.deep.equal(payloads.map((payload) => sourced(kind, payload, name)));
}
