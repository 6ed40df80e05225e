import {
  Catch,
  HttpStatus,
  Inject,
  Optional,
  type ArgumentsHost,
  type ExceptionFilter,
} from '@nestjs/common';
import { HttpAdapterHost } from '@nestjs/core';
import { STATUS_CODES, type ServerResponse } from 'node:http';
import { throwError, type Observable } from 'rxjs';
import {
  CircuitBreakerError,
  ConcurrencyLimitError,
  RateLimitExceededError,
  TimeoutError,
  type ResilienceError,
} from '../index.js';

/** The HTTP answer for one dspu error. */
export interface ResilienceHttpResponse {
  /** 503, 429 or 504. */
  readonly status: number;
  /** Seconds, rounded up, when the error says when to come back (an open circuit, a rate limit). */
  readonly retryAfter?: number;
  /** The JSON body, shaped like NestJS's own error bodies plus the error's stable `code`. */
  readonly body: { statusCode: number; message: string; error: string; code: string };
}

/**
 * Maps a dspu error to its HTTP answer: open circuit → 503 with `Retry-After` (none when isolated), rate limited → 429 with
 * `Retry-After`, timeout → 504, concurrency limit → 503. Returns undefined for any other error.
 */
export function toHttpResponse(error: unknown): ResilienceHttpResponse | undefined {
  let status: number;
  let retryAfterMs: number | undefined;
  if (error instanceof CircuitBreakerError) {
    status = HttpStatus.SERVICE_UNAVAILABLE;
    // An isolated circuit stays open until someone resets it: no time would be true.
    if (!error.isolated) retryAfterMs = error.retryAfter;
  } else if (error instanceof RateLimitExceededError) {
    status = HttpStatus.TOO_MANY_REQUESTS;
    retryAfterMs = error.retryAfter;
  } else if (error instanceof TimeoutError) {
    status = HttpStatus.GATEWAY_TIMEOUT;
  } else if (error instanceof ConcurrencyLimitError) {
    status = HttpStatus.SERVICE_UNAVAILABLE;
  } else {
    return undefined;
  }
  const { message, code } = error;
  const body = { statusCode: status, message, error: STATUS_CODES[status] ?? 'Error', code };
  const usable = retryAfterMs !== undefined && Number.isFinite(retryAfterMs) && retryAfterMs >= 0;
  return usable ? { status, retryAfter: Math.ceil(retryAfterMs! / 1000), body } : { status, body };
}

/**
 * An exception filter that answers dspu errors over HTTP (see {@link toHttpResponse}); every other error is
 * not caught and reaches the application's other filters. Register it with
 * `ResilienceModule.forRoot({ http: true })`, or yourself: `@UseFilters(ResilienceExceptionFilter)`, or
 * `app.useGlobalFilters(new ResilienceExceptionFilter(app.get(HttpAdapterHost)))`. It answers through the
 * application's HTTP adapter, so it works with Express and Fastify alike. Outside HTTP (microservices,
 * websockets) it hands the error on unchanged, as an errored observable.
 *
 * @example
 * ```ts
 * @Controller('payments')
 * @UseFilters(ResilienceExceptionFilter)
 * export class PaymentsController {
 *   constructor(private readonly payments: PaymentsService) {}
 *   @Post() charge(@Body() order: Order) { return this.payments.charge(order); } // open circuit → 503
 * }
 * ```
 */
@Catch(CircuitBreakerError, RateLimitExceededError, TimeoutError, ConcurrencyLimitError)
export class ResilienceExceptionFilter implements ExceptionFilter {
  /** @param adapterHost - the application's `HttpAdapterHost`; injected when NestJS creates the filter */
  constructor(
    @Optional() @Inject(HttpAdapterHost) private readonly adapterHost?: HttpAdapterHost,
  ) {}

  /** Writes the status, `Retry-After` and JSON body for `exception` to the HTTP response. */
  catch(exception: ResilienceError, host: ArgumentsHost): void | Observable<never> {
    const answer = toHttpResponse(exception);
    if (host.getType() !== 'http' || answer === undefined) return throwError(() => exception);
    const response = host.switchToHttp().getResponse<unknown>();
    const adapter = this.adapterHost?.httpAdapter;
    if (adapter === undefined) {
      replyWithoutAdapter(response, answer);
    } else if (adapter.isHeadersSent(response)) {
      adapter.end(response);
    } else {
      if (answer.retryAfter !== undefined) {
        adapter.setHeader(response, 'Retry-After', String(answer.retryAfter));
      }
      adapter.reply(response, answer.body, answer.status);
    }
  }
}

// Made with `new` and no adapter: write to Node's response (Express's is one; Fastify's reply wraps it as `raw`).
function replyWithoutAdapter(response: unknown, answer: ResilienceHttpResponse): void {
  const raw = ((response as { raw?: ServerResponse }).raw ?? response) as ServerResponse;
  if (raw.headersSent) {
    raw.end();
    return;
  }
  raw.statusCode = answer.status;
  raw.setHeader('Content-Type', 'application/json; charset=utf-8');
  if (answer.retryAfter !== undefined) raw.setHeader('Retry-After', String(answer.retryAfter));
  raw.end(JSON.stringify(answer.body));
}
