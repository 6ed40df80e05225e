// A worker thread with its own connection, standing in for another process that writes to the same database:
// it takes the write lock in bursts, as a nightly job writing audit rows would, then exits.
import { parentPort, workerData } from 'node:worker_threads';
import Database from 'better-sqlite3';

const { file, bursts, holdMs, pauseMs } = workerData as {
  file: string;
  bursts: number;
  holdMs: number;
  pauseMs: number;
};

// The default busy timeout: this writer waits for the sample's transactions instead of failing.
const db = new Database(file);
const audit = db.prepare<[number, string]>('INSERT INTO audit (burst, note) VALUES (?, ?)');
const pause = new Int32Array(new SharedArrayBuffer(4));

for (let burst = 1; burst <= bursts; burst++) {
  db.exec('BEGIN IMMEDIATE');
  audit.run(burst, 'nightly job holding the write lock');
  parentPort!.postMessage({ locked: burst });
  Atomics.wait(pause, 0, 0, burst === 1 ? holdMs * 2 : holdMs); // hold the lock, blocking this thread only
  db.exec('COMMIT');
  Atomics.wait(pause, 0, 0, pauseMs);
}
db.close();
