/** Prints simulation results as a table, and draws the limits over time as an SVG. */
import { settleTime, type ScenarioResult } from './simulation.js';

function ms(value: number): string {
  if (Number.isNaN(value)) return '-';
  if (value === Infinity) return 'never';
  return value >= 10_000 ? `${(value / 1000).toFixed(0)} s` : `${Math.round(value)} ms`;
}

function share(value: number): string {
  return Number.isNaN(value) ? '-' : `${Math.round(value * 100)} %`;
}

function pad(cells: readonly string[], widths: readonly number[]): string {
  return cells
    .map((cell, i) => (i === 0 ? cell.padEnd(widths[i]) : cell.padStart(widths[i])))
    .join('  ');
}

/** A table of the limiter scenarios: limit, goodput and latency of each. */
export function limiterTable(results: readonly ScenarioResult[]): string {
  const head = [
    'scenario',
    'limit/capacity',
    'goodput',
    'p50',
    'p99',
    'shed',
    'late',
    'follows in',
  ];
  const rows = results.map((r) => {
    const change = r.scenario.changes?.[0]?.at;
    return [
      r.scenario.name,
      share(r.limitShare),
      share(r.goodput),
      ms(r.p50),
      ms(r.p99),
      share(r.shed / r.offered),
      share(r.late / r.offered),
      change === undefined || r.limits.length === 0 ? '' : ms(settleTime(r, change)),
    ];
  });
  return table(head, rows);
}

/** A table of the retry scenarios: the load that reaches the server per request sent. */
export function retryTable(results: readonly ScenarioResult[]): string {
  const head = ['scenario', 'server load', 'succeeded'];
  const rows = results.map((r) => [
    r.scenario.name,
    `${r.serverLoad.toFixed(3)}×`,
    share(r.ok / r.offered),
  ]);
  return table(head, rows);
}

/** A table of the hedging scenarios: latency, and the extra requests hedges sent (per call). */
export function hedgeTable(results: readonly ScenarioResult[]): string {
  const head = ['scenario', 'p50', 'p99', 'extra attempts'];
  const rows = results.map((r) => [
    r.scenario.name,
    ms(r.p50),
    ms(r.p99),
    `${((r.serverLoad - 1) * 100).toFixed(1)} %`,
  ]);
  return table(head, rows);
}

function table(head: readonly string[], rows: readonly string[][]): string {
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((row) => row[i].length)));
  const rule = widths.map((w) => '-'.repeat(w)).join('  ');
  return [pad(head, widths), rule, ...rows.map((row) => pad(row, widths))].join('\n');
}

const COLOURS = ['#1f77b4', '#d62728', '#2ca02c', '#9467bd', '#ff7f0e', '#8c564b'];

/** An SVG of the limit of each result over time, with the server's capacity as a grey step line. */
export function limitsSvg(title: string, results: readonly ScenarioResult[]): string {
  const width = 720;
  const height = 320;
  const left = 50;
  const right = 200;
  const top = 30;
  const bottom = 40;
  const duration = Math.max(...results.map((r) => r.scenario.durationMs));
  const maxLimit = Math.max(
    ...results.flatMap((r) => r.limits.map((s) => s.limit)),
    ...results.map((r) => r.scenario.capacity * 1.5),
  );
  const x = (t: number) => left + ((width - left - right) * t) / duration;
  const y = (v: number) => top + (height - top - bottom) * (1 - v / maxLimit);
  const path = (points: readonly [number, number][]) =>
    points
      .map(([t, v], i) => `${i === 0 ? 'M' : 'L'}${x(t).toFixed(1)},${y(v).toFixed(1)}`)
      .join('');
  const first = results[0].scenario;
  const capacity: [number, number][] = [[0, first.capacity]];
  for (const change of first.changes ?? [])
    if (change.capacity !== undefined)
      capacity.push([change.at, capacity[capacity.length - 1][1]], [change.at, change.capacity]);
  capacity.push([duration, capacity[capacity.length - 1][1]]);
  const lines = results.map((r, i) => {
    const colour = COLOURS[i % COLOURS.length];
    const label = r.scenario.name.replace(/^capacity halves: /, '');
    return (
      `<path d="${path(r.limits.map((s) => [s.at, s.limit]))}" fill="none" stroke="${colour}" stroke-width="1.5"/>` +
      `<text x="${width - right + 10}" y="${top + 16 * i + 10}" fill="${colour}" font-size="12">${label}</text>`
    );
  });
  const ticks: string[] = [];
  for (let t = 0; t <= duration; t += 10_000)
    ticks.push(
      `<text x="${x(t)}" y="${height - bottom + 16}" font-size="11" text-anchor="middle">${t / 1000} s</text>`,
    );
  for (let v = 0; v <= maxLimit; v += 50)
    ticks.push(
      `<text x="${left - 6}" y="${y(v) + 4}" font-size="11" text-anchor="end">${v}</text>`,
    );
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" font-family="sans-serif">`,
    `<rect width="${width}" height="${height}" fill="white"/>`,
    `<text x="${left}" y="18" font-size="13">${title}</text>`,
    `<line x1="${left}" y1="${y(0)}" x2="${width - right}" y2="${y(0)}" stroke="#999"/>`,
    `<line x1="${left}" y1="${top}" x2="${left}" y2="${y(0)}" stroke="#999"/>`,
    `<path d="${path(capacity)}" fill="none" stroke="#aaa" stroke-width="6" opacity="0.5"/>`,
    `<text x="${width - right + 10}" y="${top + 16 * results.length + 10}" fill="#999" font-size="12">server capacity</text>`,
    ...ticks,
    ...lines,
    '</svg>',
    '',
  ].join('\n');
}
