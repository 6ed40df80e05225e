import {
  Inject,
  Injectable,
  Logger,
  type BeforeApplicationShutdown,
  type OnApplicationShutdown,
  type OnModuleInit,
} from '@nestjs/common';
import {
  drainShielded,
  ResilienceRegistry,
  shieldedCount,
  shutdownExecutor,
  TimeoutError,
} from '../index.js';
import { RESILIENCE_MODULE_OPTIONS } from './resilience.constants.js';
import type { SplitOptions } from './resilience.options.js';

// The worker pools are process-wide: only the last running application may stop them.
let runningApplications = 0;

/**
 * Lets shielded work finish when the application closes, then stops the bridge's worker pools.
 *
 * It drains twice: in `beforeApplicationShutdown`, while other modules' connections (databases, queues) are
 * still open for the shielded work to use, and again in `onApplicationShutdown`, after the HTTP server has
 * closed, for work started by requests that were still running.
 * @internal
 */
@Injectable()
export class ResilienceShutdown
  implements OnModuleInit, BeforeApplicationShutdown, OnApplicationShutdown
{
  private readonly logger = new Logger('ResilienceModule');
  private deadline: number | undefined;
  private running = false;
  private warned = false;

  constructor(
    @Inject(RESILIENCE_MODULE_OPTIONS) private readonly settings: SplitOptions,
    private readonly registry: ResilienceRegistry,
  ) {}

  /** Counts this application among those using the shared worker pools. */
  onModuleInit(): void {
    if (!this.running) runningApplications++;
    this.running = true;
  }

  /** Waits for shielded work while the rest of the application is still up. */
  async beforeApplicationShutdown(): Promise<void> {
    const limit = this.settings.drainTimeoutMs;
    if (limit !== undefined) this.deadline = Date.now() + limit;
    await this.drain();
  }

  /**
   * Waits for shielded work started meanwhile, closes the application's registry, then stops the worker pools if
   * no other application runs.
   */
  async onApplicationShutdown(): Promise<void> {
    await this.drain();
    this.registry.close();
    if (!this.running) return;
    this.running = false;
    if (--runningApplications === 0) await shutdownExecutor();
  }

  private async drain(): Promise<void> {
    const remaining = this.deadline === undefined ? undefined : this.deadline - Date.now();
    if (remaining !== undefined && remaining <= 0) {
      if (shieldedCount() > 0) this.warnUnfinished();
      return;
    }
    try {
      await drainShielded(remaining === undefined ? {} : { timeout: remaining });
    } catch (error) {
      if (!(error instanceof TimeoutError)) throw error;
      this.warnUnfinished();
    }
  }

  private warnUnfinished(): void {
    if (this.warned) return;
    this.warned = true;
    this.logger.warn(
      `${shieldedCount()} shielded operation(s) still running after drainTimeout; closing anyway`,
    );
  }
}
