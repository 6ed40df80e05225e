import { expect } from 'chai';
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { spawnMember } from './child-process.js';
import { RedisServer } from './redis-server.js';

const child = fileURLToPath(new URL('./fleet.child.js', import.meta.url));
const weightedTaker = fileURLToPath(new URL('./weighted-taker.child.js', import.meta.url));

interface ChildReport {
  grants: [at: number, tokens: number][];
  fallbacks: number;
}

function runChild(port: number, name: string, runMs: number): Promise<ChildReport> {
  return new Promise((resolve, reject) => {
    const proc = spawn(process.execPath, [child, String(port), name, String(runMs)], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    proc.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    proc.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    proc.on('error', reject);
    proc.on('exit', (code) => {
      if (code === 0) resolve(JSON.parse(stdout) as ChildReport);
      else reject(new Error(`fleet child exited with ${code}: ${stderr}`));
    });
  });
}

interface Share {
  granted: number;
  fallbacks: number;
}

/** Spawns a taker; resolves its start function once it is connected and waits for the start time. */
function taker(port: number, name: string, tokens: number, runMs: number) {
  return spawnMember<Share>(weightedTaker, [
    String(port),
    name,
    String(tokens),
    '50',
    String(runMs),
  ]);
}

/** The largest excess of admitted tokens over `capacity + rate × T` across every window of grants. */
function worstExcess(grants: [number, number][], capacity: number, perMs: number): number {
  const sorted = [...grants].sort((a, b) => a[0] - b[0]);
  let worst = -Infinity;
  for (let i = 0; i < sorted.length; i++) {
    let sum = 0;
    for (let j = i; j < sorted.length; j++) {
      sum += sorted[j][1];
      worst = Math.max(worst, sum - (capacity + perMs * (sorted[j][0] - sorted[i][0])));
    }
  }
  return worst;
}

describe('dspu/redis rate limiter across processes', function () {
  this.timeout(30_000);
  let server: RedisServer;

  before(async () => {
    server = await RedisServer.start();
  });

  after(async () => {
    await server.stop();
  });

  it('keeps the tokens four processes admit in any window T within capacity + rate × T', async () => {
    const runMs = 2_500;
    const reports = await Promise.all(
      [1, 2, 3, 4].map(() => runChild(server.port, 'fleet', runMs)),
    );
    const grants = reports.flatMap((r) => r.grants);
    expect(reports.map((r) => r.fallbacks)).to.deep.equal([0, 0, 0, 0]);
    // Every process got a share: one bucket, not four.
    for (const report of reports) expect(report.grants.length).to.be.above(10);
    // rate 400/s, capacity 40: allow a microsecond of float rounding per window.
    expect(worstExcess(grants, 40, 0.4)).to.be.at.most(1e-3);
    // The fleet was saturated: it admitted close to the bound over the whole run, not trivially less.
    const span = Math.max(...grants.map((g) => g[0])) - Math.min(...grants.map((g) => g[0]));
    const admitted = grants.reduce((sum, g) => sum + g[1], 0);
    expect(admitted).to.be.above(0.8 * (40 + 0.4 * span));
  });

  it('serves a 3-token taker in turn while three other processes take 1 token at a time', async () => {
    const starts = await Promise.all(
      [3, 1, 1, 1].map((tokens) => taker(server.port, 'weighted', tokens, 2_000)),
    );
    const start = Date.now() + 50;
    const shares = await Promise.all(starts.map((go) => go(start)));
    expect(shares.map((s) => s.fallbacks)).to.deep.equal([0, 0, 0, 0]);
    const tokens = shares.map((s) => s.granted);
    // In turn, each process is served as often as the others: the heavy one gets 3 of every 6 tokens.
    const calls = [tokens[0] / 3, ...tokens.slice(1)];
    const lightest = Math.min(...calls.slice(1));
    expect(calls[0], `tokens granted: ${tokens.join(', ')}`).to.be.at.least(0.7 * lightest);
    // 50 a second for 2 s, plus the burst of 50 the bucket starts with.
    expect(tokens.reduce((sum, n) => sum + n, 0)).to.be.within(120, 155);
  });
});
