// A retried, timed-out HTTP call against a flaky local server: two 503s, then a request that hangs, then success.
import { RetryPolicy, runWithTimeout, TimeoutError } from 'dspu';
import { startFlakyServer } from './flaky-server.js';

class HttpStatusError extends Error {
  constructor(readonly status: number) {
    super(`HTTP ${status}`);
    this.name = 'HttpStatusError';
  }
}

const server = await startFlakyServer({ failures: 2, hangs: 1 });
const started = Date.now();
const elapsed = () => `${String(Date.now() - started).padStart(4)} ms`;

const policy = new RetryPolicy({
  maxAttempts: 5,
  baseDelay: '100ms',
  exceptions: [HttpStatusError, TimeoutError],
  onRetry: (attempt, error) =>
    console.log(`${elapsed()}  try ${attempt} failed (${String(error)}); retrying`),
});

// Each try gets its own 500 ms budget; the signal aborts the hanging request at the deadline.
const quote = await policy.execute(() =>
  runWithTimeout(async (signal) => {
    const response = await fetch(server.url, { signal });
    if (!response.ok) throw new HttpStatusError(response.status);
    return (await response.json()) as { quote: string };
  }, '500ms'),
);

console.log(`${elapsed()}  succeeded after ${server.requests()} requests: "${quote.quote}"`);
await server.close();
