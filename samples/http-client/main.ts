// The seed's "API client with full protection" as a decorated class, against a local user API that fails:
// retries absorb a transient 503, the circuit opens when the API goes down, and a fallback serves cached users
// until the circuit lets trial calls through again and closes.
import {
  CircuitBreaker,
  CircuitBreakerError,
  Fallback,
  RateLimited,
  Retry,
  registry,
  type CircuitState,
} from 'dspu';
import { startUserServer, type User } from './user-server.js';

/** A user, and where this answer came from. */
interface UserView extends User {
  source: 'api' | 'cache' | 'placeholder';
}

/** A response with an error status. 5xx are transient: worth retrying, and counted by the breaker. */
class HttpError extends Error {
  constructor(
    readonly status: number,
    readonly path: string,
  ) {
    super(`GET ${path}: HTTP ${status}`);
    this.name = 'HttpError';
  }
}

// fetch rejects with a TypeError when it cannot reach the server at all: transient too.
const isTransient = (error: unknown): boolean =>
  (error instanceof HttpError && error.status >= 500) || error instanceof TypeError;

const started = Date.now();
function log(message: string): void {
  console.log(`${String(Date.now() - started).padStart(5)} ms  ${message}`);
}

class ResilientApiClient {
  private readonly cache = new Map<number, User>();

  constructor(private readonly baseUrl: string) {}

  /**
   * Composed outermost first, whatever the order written here: Fallback → Retry → CircuitBreaker → RateLimited.
   * An open circuit ends the retries at once, and a call the circuit rejects spends no token.
   */
  @Fallback('cachedUser')
  @Retry({
    maxAttempts: 3,
    baseDelay: '100ms',
    retryIf: isTransient,
    onRetry: (attempt, error) => log(`  try ${attempt} failed (${String(error)}); retrying`),
  })
  @CircuitBreaker({
    failureThreshold: 5,
    timeout: '500ms',
    successThreshold: 2,
    onStateChange: (from: CircuitState, to: CircuitState) => log(`  circuit ${from} -> ${to}`),
  })
  @RateLimited({ rate: 10, per: '1s' })
  async getUser(id: number): Promise<UserView> {
    const path = `/users/${id}`;
    const response = await fetch(this.baseUrl + path);
    if (!response.ok) throw new HttpError(response.status, path);
    const user = (await response.json()) as User;
    this.cache.set(id, user);
    return { ...user, source: 'api' };
  }

  /** The graceful degradation of the seed: the last good answer, else a placeholder. */
  cachedUser(error: unknown, id: number): UserView {
    const why = error instanceof CircuitBreakerError ? 'circuit open' : String(error);
    const cached = this.cache.get(id);
    log(`  fallback for user ${id} (${why}): ${cached ? 'cached data' : 'placeholder'}`);
    return cached ? { ...cached, source: 'cache' } : { id, name: 'unknown', source: 'placeholder' };
  }
}

const server = await startUserServer();
const client = new ResilientApiClient(server.url);
let throttled = 0;
const stopCounting = registry.on('throttled', () => void throttled++);
const show = (user: UserView) => `${user.name} from ${user.source}`;

try {
  log('1. healthy API, 12 users at once; the first request for user 2 gets a 503');
  server.failOnce(2);
  const ids = Array.from({ length: 12 }, (_, i) => i + 1);
  const users = await Promise.all(ids.map((id) => client.getUser(id)));
  const fromApi = users.filter((user) => user.source === 'api').length;
  log(`  ${fromApi} of ${users.length} users from the API; ${throttled} calls waited for a token`);

  log('2. the API goes down');
  server.setDown(true);
  for (const id of [1, 2, 3, 99]) log(`  user ${id}: ${show(await client.getUser(id))}`);
  const requestsWhileOpen = server.requests();
  log(`  ${server.requests()} requests so far: the open circuit spared the API the last calls`);

  log('3. the API is back; after the breaker timeout, trial calls close the circuit');
  server.setDown(false);
  await new Promise((resolve) => setTimeout(resolve, 550));
  for (const id of [1, 2, 3]) log(`  user ${id}: ${show(await client.getUser(id))}`);
  log(
    `done: ${server.requests()} requests in all, ${server.requests() - requestsWhileOpen} after recovery`,
  );
} finally {
  stopCounting();
  await server.close();
}
