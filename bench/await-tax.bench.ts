/*
 * "Context without a tax" (DESIGN 1.4): importing and using dspu must leave the cost of every other `await`
 * in the process unchanged. One AsyncLocalStorage.run() anywhere turns on promise hooks for the whole process,
 * so this is checked in fresh processes: (a) nothing imported, (b) dspu imported and used, (c) one
 * AsyncLocalStorage.run(), for contrast. Rounds alternate the three so machine noise hits them alike.
 *
 * Exits non-zero when (b)/(a) exceeds 1.2: the promise-hook tax is about 2.6x, far above measurement noise.
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

async function measureIn(mode: string): Promise<number> {
  const { stdout } = await run(process.execPath, [childScript, mode]).catch((error: unknown) => {
    const stderr = (error as { stderr?: string }).stderr ?? String(error);
    throw new Error(`the "${mode}" child process failed:\n${stderr}`);
  });
  const lastLine = stdout.trim().split('\n').at(-1) ?? '';
  return (JSON.parse(lastLine) as { nsPerAwait: number }).nsPerAwait;
}

console.log(`bare await cost in fresh processes, median of ${rounds} (${environment()})`);
const samples = new Map<string, number[]>(modes.map((m) => [m, []]));
for (let round = 0; round < rounds; round++) {
  for (const mode of modes) samples.get(mode)!.push(await measureIn(mode));
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
console.log(
  `(b)/(a) = ${tax.toFixed(2)}: ${tax <= limit ? 'no tax' : `TAXED (limit ${limit})`}; ` +
    `(c)/(a) = ${(ns.get('als')! / base).toFixed(2)} shows what a tax looks like`,
);
if (tax > limit) process.exitCode = 1;
