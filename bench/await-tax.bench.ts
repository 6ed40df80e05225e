/*
 * Context without a tax: importing and using dspu must leave the cost of every other `await` in the process
 * unchanged. One AsyncLocalStorage.run() anywhere turns on promise hooks for the whole process on Node 20 and
 * 22 (about 2.6x per await), and costs nothing from Node 24 on (AsyncContextFrame). So this is checked in fresh
 * processes: (a) nothing imported, (b) dspu imported and used, (c) one AsyncLocalStorage.run(), for contrast.
 * Rounds alternate the three so machine noise hits them alike.
 *
 * It checks both sides, on whichever Node runs it: (b)/(a) stays within 1.2, and dspu's default context
 * matches what AsyncLocalStorage costs here: synchronous where (c) is taxed, following awaits where it is not.
 * Exits non-zero otherwise.
 */
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { environment, formatNs, formatTable, median } from './harness.js';

const run = promisify(execFile);
const childScript = fileURLToPath(new URL('./await-tax.child.js', import.meta.url));
const modes = ['none', 'dspu', 'als'] as const;
const labels: Record<(typeof modes)[number], string> = {
  none: '(a) nothing imported',
  dspu: '(b) dspu imported and used',
  als: '(c) one AsyncLocalStorage.run()',
};
const rounds = 5;
const limit = 1.2;

interface ChildResult {
  nsPerAwait: number;
  asyncContext?: boolean;
}

async function measureIn(mode: string): Promise<ChildResult> {
  const { stdout } = await run(process.execPath, [childScript, mode]).catch((error: unknown) => {
    const stderr = (error as { stderr?: string }).stderr ?? String(error);
    throw new Error(`the "${mode}" child process failed:\n${stderr}`);
  });
  const lastLine = stdout.trim().split('\n').at(-1) ?? '';
  return JSON.parse(lastLine) as ChildResult;
}

console.log(`bare await cost in fresh processes, median of ${rounds} (${environment()})`);
const samples = new Map<string, number[]>(modes.map((m) => [m, []]));
let asyncContext: boolean | undefined;
for (let round = 0; round < rounds; round++) {
  for (const mode of modes) {
    const result = await measureIn(mode);
    samples.get(mode)!.push(result.nsPerAwait);
    if (mode === 'dspu') asyncContext = result.asyncContext;
  }
}
const ns = new Map(modes.map((m) => [m, median(samples.get(m)!)]));
const base = ns.get('none')!;
console.log(
  formatTable(
    'await tax',
    ['process', 'ns/await', 'ratio to (a)'],
    modes.map((m) => [labels[m], formatNs(ns.get(m)!), `${(ns.get(m)! / base).toFixed(2)}×`]),
  ),
);
const tax = ns.get('dspu')! / base;
const alsTax = ns.get('als')! / base;
const alsIsFree = alsTax <= limit;
console.log(
  `(b)/(a) = ${tax.toFixed(2)}: ${tax <= limit ? 'no tax' : `TAXED (limit ${limit})`}; ` +
    `(c)/(a) = ${alsTax.toFixed(2)}: AsyncLocalStorage ${alsIsFree ? 'is free' : 'taxes every await'} here`,
);
const matches = asyncContext === alsIsFree;
console.log(
  `dspu's default context ${asyncContext ? 'follows awaits (AsyncLocalStorage)' : 'is synchronous'}: ` +
    (matches ? 'as it should be here' : 'WRONG for this Node'),
);
if (tax > limit || !matches) process.exitCode = 1;
