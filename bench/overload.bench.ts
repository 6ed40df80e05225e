/*
 * The overload simulation: a server with 100 parallel slots of 100 ms under twice the load it can take, called
 * with no policy, with fixed concurrency limits, and with each adaptive limit; then retries against a failing
 * server, with and without a retry budget; then hedged calls to a server with a long tail. Deterministic (fake
 * timers, seeded randomness): rerun it and you get the same table. Writes bench/overload/limits.svg, the limits
 * over time when the server loses half its capacity.
 *
 * Targets: under 2× overload an adaptive limit settles within ±25 % of capacity with p99 <= 2× the base latency
 * and goodput >= 90 % of capacity; when capacity halves, it follows within 5 s; with a budget of 0.2, a failing
 * dependency sees at most 1.2× its offered load; hedging at the latency's p95 brings a server's p99 of 1 s (one
 * request in fifty) below 100 ms with at most 10 % extra requests.
 */
import { writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { hedgeTable, limitsSvg, limiterTable, retryTable } from './overload/report.js';
import {
  FULL_HEDGE_SIZE,
  FULL_SIZE,
  hedgeScenarios,
  limiterScenarios,
  retryScenarios,
} from './overload/scenarios.js';
import { runScenario, settleTime, type ScenarioResult } from './overload/simulation.js';

const size = FULL_SIZE;
const started = Date.now();
const limiters: ScenarioResult[] = [];
for (const scenario of limiterScenarios(size)) limiters.push(await runScenario(scenario));
const retries: ScenarioResult[] = [];
for (const scenario of retryScenarios(size)) retries.push(await runScenario(scenario));
const hedges: ScenarioResult[] = [];
for (const scenario of hedgeScenarios(FULL_HEDGE_SIZE)) hedges.push(await runScenario(scenario));

console.log(
  `overload simulation: ${size.capacity} slots × ${size.baseLatencyMs} ms (${(size.capacity * 1000) / size.baseLatencyMs} requests/s), ` +
    `${size.durationMs / 1000} s per scenario, measured after ${size.measureFromMs / 1000} s; ` +
    `capacity halves at ${size.halveAtMs / 1000} s where it does\n`,
);
console.log(limiterTable(limiters));
console.log();
console.log(retryTable(retries));
console.log(
  `\nhedging: a server answering in 10 ms, or 1 s for 2 % of requests; ${FULL_HEDGE_SIZE.offeredRps} calls/s for ` +
    `${FULL_HEDGE_SIZE.durationMs / 1000} s, measured after ${FULL_HEDGE_SIZE.measureFromMs / 1000} s; one hedge at most\n`,
);
console.log(hedgeTable(hedges));

const svg = limitsSvg(
  `Concurrency limit when the server loses half its capacity at ${size.halveAtMs / 1000} s`,
  limiters.filter((r) => r.scenario.name.startsWith('capacity halves')),
);
const svgPath = fileURLToPath(new URL('../../bench/overload/limits.svg', import.meta.url));
writeFileSync(svgPath, svg);

console.log(`\nwrote ${svgPath}; simulated in ${((Date.now() - started) / 1000).toFixed(1)} s`);
const targets: [string, boolean][] = [];
for (const r of limiters.filter((r) => r.scenario.name.startsWith('adaptive')))
  targets.push([
    `${r.scenario.name}: limit within ±25 %, p99 <= 2× base, goodput >= 90 %`,
    Math.abs(r.limitShare - 1) <= 0.25 && r.p99 <= 2 * size.baseLatencyMs && r.goodput >= 0.9,
  ]);
for (const r of limiters.filter((r) => r.scenario.name.startsWith('capacity halves: adaptive')))
  targets.push([`${r.scenario.name}: follows within 5 s`, settleTime(r, size.halveAtMs) <= 5_000]);
for (const r of retries.filter((r) => r.scenario.name.endsWith('budget 0.2')))
  targets.push([`${r.scenario.name}: server load <= 1.2×`, r.serverLoad <= 1.2]);
for (const r of hedges.filter((r) => r.scenario.name.startsWith("hedge after 'p95'")))
  targets.push([
    `${r.scenario.name}: p99 < 100 ms with <= 10 % extra attempts`,
    r.p99 < 100 && r.serverLoad - 1 <= 0.1,
  ]);
for (const [name, met] of targets) console.log(`target ${name}: ${met ? 'met' : 'MISSED'}`);
if (targets.some(([, met]) => !met)) process.exitCode = 1;
