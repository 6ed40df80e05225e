/*
 * A small in-process benchmark harness with no dependencies.
 *
 * Every case is an async function that is awaited many times in a loop. Each case gets a loop of its own,
 * compiled for it alone, so the `await fn()` call site stays monomorphic: with one shared loop, the call site
 * would see every case's function, turn megamorphic, and slow down whichever cases ran after the first few.
 *
 * A group interleaves its cases: every round measures each case once, and the figure reported is the median
 * over rounds. On a shared machine a burst of noise then lands on one sample of every case rather than on all
 * samples of one case, and ratios to the baseline stay meaningful.
 */

/** An async operation under test: called and awaited once per iteration. */
export type BenchFn = () => unknown;

/** How long and how often a case runs. */
export interface MeasureOptions {
  /** Calls per sample. Omitted: chosen so that one sample takes about `sampleMs`. */
  iterations?: number;
  /** Calls made before sampling, so V8 has optimised the code under test (default 20 000). */
  warmup?: number;
  /** Samples taken; the median is reported (default 7). */
  repeats?: number;
  /** Target duration of one sample when `iterations` is omitted (default 100 ms). */
  sampleMs?: number;
}

/** The result of one case. */
export interface Measurement {
  name: string;
  /** Median over samples of the time per call, in nanoseconds. */
  nsPerCall: number;
  /** Time per call of each sample, in nanoseconds, in the order taken. */
  samples: number[];
  /** Calls per sample. */
  iterations: number;
}

type Loop = (fn: BenchFn, iterations: number) => Promise<void>;

const AsyncFunction = Object.getPrototypeOf(async () => {}).constructor as new (
  ...params: string[]
) => Loop;

// A fresh function per case: V8 keeps type feedback per function literal, and this is the only way to give
// each case a literal of its own.
function compileLoop(): Loop {
  return new AsyncFunction('fn', 'iterations', 'for (let i = 0; i < iterations; i++) await fn();');
}

/*
 * Collects the garbage of earlier work (when run with --expose-gc) before a case or group starts. Never before
 * each sample: a full collection deoptimises code that embeds objects which have died since ("weak objects"),
 * so every sample would pay for recompiling the code under test, which a real application does not.
 */
function collectGarbage(): void {
  (globalThis as { gc?: () => void }).gc?.();
}

async function sample(loop: Loop, fn: BenchFn, iterations: number): Promise<number> {
  const start = process.hrtime.bigint();
  await loop(fn, iterations);
  return Number(process.hrtime.bigint() - start) / iterations;
}

/** The median of `values` (the mean of the middle two for an even count). */
export function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2;
}

const defaults = { warmup: 20_000, repeats: 7, sampleMs: 100 };

class Case {
  readonly loop = compileLoop();
  readonly samples: number[] = [];
  iterations = 0;

  constructor(
    readonly name: string,
    readonly fn: BenchFn,
  ) {}

  async warmUp(options: MeasureOptions): Promise<void> {
    const warmup = options.warmup ?? defaults.warmup;
    await this.loop(this.fn, warmup);
    if (options.iterations !== undefined) {
      this.iterations = options.iterations;
      return;
    }
    // Calibrate on a second, already optimised run: the first includes compilation.
    const perCall = await sample(this.loop, this.fn, Math.max(1, warmup >> 2));
    const targetNs = (options.sampleMs ?? defaults.sampleMs) * 1e6;
    this.iterations = Math.max(100, Math.round(targetNs / Math.max(perCall, 1)));
  }

  async takeSample(): Promise<void> {
    this.samples.push(await sample(this.loop, this.fn, this.iterations));
  }

  result(): Measurement {
    return {
      name: this.name,
      nsPerCall: median(this.samples),
      samples: this.samples,
      iterations: this.iterations,
    };
  }
}

/**
 * Measures one async operation: warms it up, then takes `repeats` samples of `iterations` awaited calls each.
 *
 * @example
 * ```ts
 * const { nsPerCall } = await measure('bare', async () => 1, { repeats: 5 });
 * ```
 */
export async function measure(
  name: string,
  fn: BenchFn,
  options: MeasureOptions = {},
): Promise<Measurement> {
  const benchCase = new Case(name, fn);
  collectGarbage();
  await benchCase.warmUp(options);
  for (let i = 0; i < (options.repeats ?? defaults.repeats); i++) await benchCase.takeSample();
  return benchCase.result();
}

/** The operation every group compares against: `await fn()` where `fn` is `async () => 1`. */
export const bareAsyncCall = async (): Promise<number> => 1;

/** Name of the baseline case that {@link BenchGroup} adds first. */
export const BASELINE = 'awaited bare async call';

/**
 * A set of cases measured in the same run and printed as one table, with each case's ratio to an awaited bare
 * async call (the first case, added for you).
 *
 * @example
 * ```ts
 * const group = new BenchGroup('retry', { repeats: 9 });
 * group.add('dspu retry', () => retried());
 * const results = await group.run(); // prints the table
 * ```
 */
export class BenchGroup {
  private readonly cases: Case[] = [new Case(BASELINE, bareAsyncCall)];

  constructor(
    readonly title: string,
    private readonly options: MeasureOptions = {},
  ) {}

  /** Adds a case; `fn` is called and awaited once per iteration. */
  add(name: string, fn: BenchFn): this {
    if (this.cases.some((c) => c.name === name)) throw new Error(`duplicate case "${name}"`);
    this.cases.push(new Case(name, fn));
    return this;
  }

  /** Warms up every case, takes the samples round by round, prints the table and returns the results. */
  async run(): Promise<GroupResult> {
    collectGarbage();
    for (const benchCase of this.cases) await benchCase.warmUp(this.options);
    const repeats = this.options.repeats ?? defaults.repeats;
    for (let round = 0; round < repeats; round++) {
      for (const benchCase of this.cases) await benchCase.takeSample();
    }
    const result = new GroupResult(
      this.title,
      this.cases.map((c) => c.result()),
    );
    console.log(result.table());
    return result;
  }
}

/** The measurements of a {@link BenchGroup}, with ratios to its baseline. */
export class GroupResult {
  constructor(
    readonly title: string,
    readonly measurements: Measurement[],
  ) {}

  /** The baseline's median ns/call. */
  get baselineNs(): number {
    return this.measurements[0].nsPerCall;
  }

  /** A case's median ns/call divided by the baseline's. */
  ratio(name: string): number {
    const found = this.measurements.find((m) => m.name === name);
    if (found === undefined) throw new Error(`no case "${name}"`);
    return found.nsPerCall / this.baselineNs;
  }

  /** The result as a plain-text table: case, ns/call, ratio to the baseline, spread of the samples. */
  table(): string {
    const rows = this.measurements.map((m) => [
      m.name,
      formatNs(m.nsPerCall),
      `${(m.nsPerCall / this.baselineNs).toFixed(1)}×`,
      `±${spreadPercent(m).toFixed(0)}%`,
    ]);
    return formatTable(this.title, ['case', 'ns/call', 'ratio', 'spread'], rows);
  }
}

/** Half the distance between the slowest and fastest sample, relative to the median. */
function spreadPercent(m: Measurement): number {
  return ((Math.max(...m.samples) - Math.min(...m.samples)) / 2 / m.nsPerCall) * 100;
}

/** A duration in ns, with digits grouped (`12 345`) and one decimal below 100 ns. */
export function formatNs(ns: number): string {
  if (ns < 100) return ns.toFixed(1);
  return Math.round(ns)
    .toString()
    .replace(/\B(?=(\d{3})+(?!\d))/g, ' ');
}

/** A plain-text table: the first column left-aligned, the others right-aligned. */
export function formatTable(title: string, header: string[], rows: string[][]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const line = (cells: string[]) =>
    cells
      .map((cell, i) => (i === 0 ? cell.padEnd(widths[i]) : cell.padStart(widths[i])))
      .join('  ');
  const rule = widths.map((w) => '-'.repeat(w)).join('  ');
  return [`\n${title}`, line(header), rule, ...rows.map(line), ''].join('\n');
}

/** Node version and platform, for the header of a benchmark's output. */
export function environment(): string {
  return `node ${process.version}, ${process.platform}/${process.arch}`;
}
