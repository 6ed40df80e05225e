import { setImmediate as yieldToEventLoop } from 'node:timers/promises';
import Database from 'better-sqlite3';
import { Concurrency, Retry, Timeout, currentAttempt, currentSignal } from 'dspu';

/** SQLite reports a lock held by another connection as SQLITE_BUSY: transient, worth another try. */
const isBusy = (error: unknown): boolean =>
  error instanceof Database.SqliteError && error.code === 'SQLITE_BUSY';

/** Creates the schema in a new database file: WAL, so readers never wait for the writer. */
export function createSchema(file: string): void {
  const db = new Database(file);
  db.pragma('journal_mode = WAL');
  db.exec(`
    CREATE TABLE orders (id INTEGER PRIMARY KEY, customer TEXT NOT NULL, amount INTEGER NOT NULL);
    CREATE TABLE audit (id INTEGER PRIMARY KEY, burst INTEGER NOT NULL, note TEXT NOT NULL);
  `);
  db.close();
}

/**
 * Inserts `count` orders in one transaction, yielding to the event loop every 100 rows so a large import does
 * not stall the process. `BEGIN IMMEDIATE` takes the write lock up front: it fails with SQLITE_BUSY at once
 * (busy timeout 0) while another connection writes, rather than halfway through.
 */
export async function importOrders(db: Database, customer: string, count: number): Promise<void> {
  const insert = db.prepare<[string, number]>(
    'INSERT INTO orders (customer, amount) VALUES (?, ?)',
  );
  db.exec('BEGIN IMMEDIATE');
  try {
    for (let i = 1; i <= count; i++) {
      insert.run(customer, i);
      if (i % 100 === 0) await yieldToEventLoop();
    }
    db.exec('COMMIT');
  } catch (error) {
    if (db.inTransaction) db.exec('ROLLBACK');
    throw error;
  }
}

/** Orders over two connections to one SQLite file: `writer` for writes, `reader` (read-only) for reads. */
export class OrderRepository {
  private readonly writer: Database;
  private readonly reader: Database;
  private readonly unfinished = new Set<Promise<unknown>>();

  constructor(
    file: string,
    private readonly log: (message: string) => void,
  ) {
    this.writer = new Database(file, { timeout: 0 }); // fail fast on a lock: @Retry does the waiting
    this.reader = new Database(file, { readonly: true });
  }

  /**
   * Retry outside, Concurrency inside: a try that meets SQLITE_BUSY gives its permit back while it waits, and
   * only one transaction is ever open on the writer connection (a second BEGIN on it would fail). The waits
   * (at least 5 + 10 + 20 + 40 ms, then 40 ms each with equal jitter) outlast the other writer's bursts.
   */
  @Retry({
    maxAttempts: 20,
    baseDelay: '10ms',
    maxDelay: '80ms',
    jitter: 'equal',
    retryIf: isBusy,
  })
  @Concurrency(1)
  async addOrders(customer: string, count: number): Promise<number> {
    const attempt = currentAttempt();
    await importOrders(this.writer, customer, count);
    return attempt;
  }

  /** Orders stored so far (a single-row read: nothing to bound). */
  countOrders(): number {
    const row = this.reader.prepare<[], { n: number }>('SELECT count(*) AS n FROM orders').get();
    return row?.n ?? 0;
  }

  /** Each customer's order total, read in chunks that yield to the event loop. */
  @Timeout('1s')
  async totalsByCustomer(): Promise<Map<string, number>> {
    const totals = new Map<string, number>();
    const orders = this.reader.prepare<[], { customer: string; amount: number }>(
      'SELECT customer, amount FROM orders',
    );
    await this.track(
      this.scan(orders.iterate(), currentSignal(), ({ customer, amount }) => {
        totals.set(customer, (totals.get(customer) ?? 0) + amount);
      }),
    );
    return totals;
  }

  /**
   * A report with a mistake in it: a cross join of orders with themselves. The timeout answers the caller at
   * the deadline; the scan sees the aborted signal at its next check and closes its cursor.
   */
  @Timeout('200ms')
  async customerPairsReport(): Promise<number> {
    const pairs = this.reader.prepare<[], { a: string; b: string }>(
      'SELECT a.customer AS a, b.customer AS b FROM orders a CROSS JOIN orders b',
    );
    let count = 0;
    try {
      await this.track(this.scan(pairs.iterate(), currentSignal(), () => void count++));
    } finally {
      this.log(`  report query stopped after ${count.toLocaleString('en-US')} rows`);
    }
    return count;
  }

  /** Waits for reads that are still winding down after a timeout, then closes both connections. */
  async close(): Promise<void> {
    await Promise.allSettled(this.unfinished);
    this.writer.close();
    this.reader.close();
  }

  /**
   * better-sqlite3 reads synchronously: a read can only be cut short where it yields. This one yields every
   * 1,000 rows and stops there once the signal (aborted at the @Timeout deadline) says so.
   */
  private async scan<R>(
    rows: Iterable<R>,
    signal: AbortSignal,
    each: (row: R) => void,
  ): Promise<void> {
    let seen = 0;
    for (const row of rows) {
      each(row);
      if (++seen % 1_000 === 0) {
        await yieldToEventLoop();
        signal.throwIfAborted(); // leaving the loop closes the statement's cursor
      }
    }
  }

  private track<T>(work: Promise<T>): Promise<T> {
    this.unfinished.add(work);
    const forget = () => void this.unfinished.delete(work);
    work.then(forget, forget);
    return work;
  }
}
