// A repository class over a real SQLite database that the sample creates in a temp dir. A worker thread with a
// second connection takes the write lock in bursts, so the repository's writes meet real SQLITE_BUSY errors:
// @Retry retries exactly those, @Concurrency(1) keeps one transaction per connection, @Timeout bounds reads.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
import Database from 'better-sqlite3';
import { TimeoutError, registry } from 'dspu';
import { OrderRepository, createSchema, importOrders } from './order-repository.js';

const IMPORTS = 6;
const ORDERS_PER_IMPORT = 500;

const started = Date.now();
function log(message: string): void {
  console.log(`${String(Date.now() - started).padStart(5)} ms  ${message}`);
}
const describe = (error: unknown) =>
  `${(error as Error).name} ${(error as { code?: string }).code ?? ''}: ${(error as Error).message}`;

const dir = mkdtempSync(join(tmpdir(), 'dspu-repository-'));
const file = join(dir, 'orders.db');
createSchema(file);
log('created orders.db (WAL) in a new temp dir');

// Without dspu, first: what goes wrong when nothing protects the writes.
const bare = new Database(file, { timeout: 0 });
log('without dspu:');
const overlapping = await Promise.allSettled([
  importOrders(bare, 'overlap', 200),
  importOrders(bare, 'overlap', 200),
]);
for (const outcome of overlapping) {
  if (outcome.status === 'rejected')
    log(`  second import on one connection: ${describe(outcome.reason)}`);
}
bare.exec("DELETE FROM orders WHERE customer = 'overlap'");

const job = new Worker(new URL('./nightly-job.js', import.meta.url), {
  workerData: { file, bursts: 4, holdMs: 50, pauseMs: 25 },
});
const jobDone = new Promise<void>((resolve, reject) => {
  job.once('error', reject);
  job.once('exit', () => resolve());
});
await new Promise((resolve) => job.once('message', resolve)); // the job holds the write lock now
try {
  bare.prepare("INSERT INTO orders (customer, amount) VALUES ('bare', 1)").run();
} catch (error) {
  log(`  a write while the nightly job holds the lock: ${describe(error)}`);
}
bare.close();

const repository = new OrderRepository(file, log);
let busyRetries = 0;
let mostQueued = 0;
const unsubscribe = [
  registry.on('retry', ({ error }) => void (busyRetries += Number(isBusyError(error)))),
  registry.on('queued', ({ pending }) => void (mostQueued = Math.max(mostQueued, pending))),
];

try {
  log(
    `with @Retry(SQLITE_BUSY) + @Concurrency(1): ${IMPORTS} imports of ${ORDERS_PER_IMPORT} orders at once`,
  );
  await Promise.all(
    Array.from({ length: IMPORTS }, async (_, i) => {
      const customer = `customer-${i + 1}`;
      const tries = await repository.addOrders(customer, ORDERS_PER_IMPORT);
      log(`  ${customer}: ${ORDERS_PER_IMPORT} orders committed on try ${tries}`);
    }),
  );
  await jobDone;
  const stored = repository.countOrders();
  log(
    `  ${busyRetries} SQLITE_BUSY retries, up to ${mostQueued} imports queued for the connection, ` +
      `${stored} orders stored (expected ${IMPORTS * ORDERS_PER_IMPORT})`,
  );

  log('with @Timeout on reads:');
  const totals = await repository.totalsByCustomer();
  log(
    `  totalsByCustomer: ${totals.size} customers, customer-1 ordered ${totals.get('customer-1')}`,
  );
  try {
    await repository.customerPairsReport();
  } catch (error) {
    if (!(error instanceof TimeoutError)) throw error;
    log(`  customerPairsReport (a cross join): ${describe(error)}`);
  }
} finally {
  for (const off of unsubscribe) off();
  await repository.close();
  await job.terminate(); // already gone unless something above failed
  rmSync(dir, { recursive: true, force: true });
  log('connections closed, temp dir removed');
}

function isBusyError(error: unknown): boolean {
  return error instanceof Database.SqliteError && error.code === 'SQLITE_BUSY';
}
