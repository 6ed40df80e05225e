import { createRequire } from 'node:module';

/** The part of opossum's API the benchmarks use (it ships no type declarations). */
export type OpossumBreaker = { fire(): Promise<unknown> };
type OpossumConstructor = new (
  action: () => Promise<unknown>,
  options: Record<string, unknown>,
) => OpossumBreaker;

/** opossum's CircuitBreaker class, loaded through require (it is CommonJS only). */
export const Opossum = createRequire(import.meta.url)('opossum') as OpossumConstructor;
