/*
 * Compiles samples/ into build/samples/ for `npm run sample:*`. dist/ is rebuilt first if a source changed
 * (the samples import dspu as users do), and tsc runs only when a sample or dist/ changed since it last ran,
 * so after the first run a sample starts at once.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const run = (args) => {
  const child = spawnSync(process.execPath, args, { cwd: root, stdio: 'inherit' });
  if (child.status !== 0) process.exit(child.status ?? 1);
};

run([join(root, 'scripts', 'build.mjs'), '--if-stale']);

// Written after each compile of the samples (tsc itself leaves its build info alone when nothing changed).
const stamp = join(root, 'build', 'samples', '.stamp');
const inputs = [
  join(root, 'tsconfig.json'),
  join(root, 'tsconfig.samples.json'),
  join(root, 'dist', 'cjs', 'package.json'),
  ...readdirSync(join(root, 'samples'), { recursive: true, withFileTypes: true })
    .filter((entry) => entry.isFile())
    .map((entry) => join(entry.parentPath, entry.name)),
];
const built = existsSync(stamp) ? statSync(stamp).mtimeMs : 0;
if (inputs.some((file) => statSync(file).mtimeMs > built)) {
  run([
    createRequire(import.meta.url).resolve('typescript/bin/tsc'),
    '-p',
    'tsconfig.samples.json',
  ]);
  writeFileSync(stamp, '');
}
