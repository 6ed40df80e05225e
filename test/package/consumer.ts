/*
 * A user's project in a temporary folder with dspu installed from the packed tarball, as a user gets it.
 *
 * It packs dist/ as it is: `npm test` builds it first (after changing src/, run `npm run build` before running
 * these tests alone). The install is offline: dspu has no dependencies, and its peer dependencies are linked
 * from this repository's node_modules, so the check needs no network.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The repository's root folder. */
export const repoRoot = fileURLToPath(new URL('../../../', import.meta.url));

const manifest = JSON.parse(readFileSync(join(repoRoot, 'package.json'), 'utf8')) as {
  name: string;
  exports: Record<string, unknown>;
  peerDependencies: Record<string, string>;
};

/** Every specifier the package exports (`dspu`, `dspu/nestjs`, …), from package.json. */
export const entrySpecifiers = Object.keys(manifest.exports)
  .filter((key) => key !== './package.json')
  .map((key) => (key === '.' ? manifest.name : `${manifest.name}/${key.slice(2)}`));

export interface Consumer {
  /** The consumer project's folder; dspu is in its node_modules. */
  readonly dir: string;
  /** The packed tarball. */
  readonly tarball: string;
  /** The paths the tarball holds, relative to the package root. */
  readonly files: readonly string[];
}

let consumer: Consumer | undefined;

/** The consumer, created on first use and removed when the process exits. */
export function packedConsumer(): Consumer {
  return (consumer ??= createConsumer());
}

function createConsumer(): Consumer {
  const root = mkdtempSync(join(tmpdir(), 'dspu-consumer-'));
  process.once('exit', () => rmSync(root, { recursive: true, force: true }));
  const packed = npm(repoRoot, ['pack', '--ignore-scripts', '--json', '--pack-destination', root]);
  const [{ filename, files }] = JSON.parse(packed) as [
    { filename: string; files: { path: string }[] },
  ];
  const tarball = join(root, filename);
  const dir = join(root, 'app');
  mkdirSync(dir);
  writeFileSync(
    join(dir, 'package.json'),
    JSON.stringify({ name: 'consumer', private: true, type: 'module' }),
  );
  npm(dir, [
    'install',
    '--offline',
    '--legacy-peer-deps',
    '--ignore-scripts',
    '--no-package-lock',
    '--no-audit',
    '--no-fund',
    tarball,
  ]);
  // The peers, and what their types need.
  for (const name of [...Object.keys(manifest.peerDependencies), '@types/node']) {
    const link = join(dir, 'node_modules', name);
    mkdirSync(dirname(link), { recursive: true });
    symlinkSync(join(repoRoot, 'node_modules', name), link, 'dir');
  }
  return { dir, tarball, files: files.map((file) => file.path) };
}

function npm(cwd: string, args: string[]): string {
  return execFileSync('npm', args, {
    cwd,
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, npm_config_loglevel: 'error', npm_config_update_notifier: 'false' },
  });
}

/**
 * Runs `source` with this Node in the consumer's folder, as an ES module or a CommonJS script, and returns
 * the JSON its last line of output holds.
 */
export function runInConsumer(source: string, type: 'module' | 'commonjs'): unknown {
  const run = spawnSync(process.execPath, [`--input-type=${type}`, '-e', source], {
    cwd: packedConsumer().dir,
    encoding: 'utf8',
    timeout: 20_000,
  });
  if (run.status !== 0) {
    throw new Error(`the consumer script failed (${run.status ?? run.signal}):\n${run.stderr}`);
  }
  return JSON.parse(run.stdout.trim().split('\n').at(-1) ?? 'null');
}
