import { expect } from 'chai';
import { spawnSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { fileURLToPath } from 'node:url';

const sampleDirs = () =>
  readdirSync(tmpdir()).filter((name) => name.startsWith('dspu-repository-'));

// better-sqlite3 is a native addon, built for the Node that installed it: CI also runs the tests on other Node
// versions with the same node_modules, where it cannot load.
function sqliteLoads(): boolean {
  try {
    const Database = createRequire(import.meta.url)('better-sqlite3') as new (path: string) => {
      close(): void;
    };
    new Database(':memory:').close();
    return true;
  } catch (error) {
    if ((error as { code?: string }).code === 'ERR_DLOPEN_FAILED') return false;
    throw error;
  }
}

describe('sample: repository', () => {
  it('retries real SQLITE_BUSY errors, stores every order, times out a runaway read and cleans up', function () {
    if (!sqliteLoads()) this.skip();
    this.timeout(30_000);
    const before = new Set(sampleDirs());
    const script = fileURLToPath(new URL('../../samples/repository/main.js', import.meta.url));
    const run = spawnSync(process.execPath, [script], { encoding: 'utf8', timeout: 20_000 });
    expect(run.status, run.stderr).to.equal(0);
    const out = run.stdout;
    expect(out).to.match(
      /second import on one connection: SqliteError SQLITE_ERROR: cannot start a transaction/,
    );
    expect(out).to.match(/a write while the nightly job holds the lock: SqliteError SQLITE_BUSY/);
    expect(out).to.match(/customer-1: 500 orders committed on try \d+/);
    expect(out).to.match(
      /[1-9]\d* SQLITE_BUSY retries, up to [1-5] imports queued for the connection, 3000 orders stored \(expected 3000\)/,
    );
    expect(out).to.match(/totalsByCustomer: 6 customers, customer-1 ordered 125250/);
    expect(out).to.match(
      /customerPairsReport \(a cross join\): TimeoutError ERR_TIMEOUT: Operation timed out after 200 ms/,
    );
    expect(out).to.match(/report query stopped after [\d,]+ rows/);
    expect(out).to.match(/connections closed, temp dir removed/);
    expect(sampleDirs().filter((name) => !before.has(name))).to.deep.equal([]);
  });
});
