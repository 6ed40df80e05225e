import { expect } from 'chai';
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { RedisServer } from './redis-server.js';

const child = fileURLToPath(new URL('./fleet.child.js', import.meta.url));

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
});
