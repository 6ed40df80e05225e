/** A command waiting for its answer: a node of {@link CommandDeadlines}. @internal */
export interface PendingCommand {
  deadline: number;
  previous: PendingCommand | undefined;
  next: PendingCommand | undefined;
  queued: boolean;
  expire(): void;
}

/**
 * The timeouts of one connection's commands. Every command of a link has the same timeout, so deadlines fall
 * in the order commands were sent: a FIFO with one timer, armed for the oldest command, replaces a
 * `setTimeout`/`clearTimeout` pair per command (a few µs each on the path of every grant).
 * @internal
 */
export class CommandDeadlines {
  private head: PendingCommand | undefined;
  private tail: PendingCommand | undefined;
  private timer: ReturnType<typeof setTimeout> | undefined;

  constructor(private readonly timeoutMs: number) {}

  /** Starts the clock of `command`. */
  add(command: PendingCommand): void {
    command.deadline = Date.now() + this.timeoutMs;
    command.queued = true;
    command.previous = this.tail;
    command.next = undefined;
    if (this.tail) this.tail.next = command;
    else this.head = command;
    this.tail = command;
    if (this.timer === undefined) this.arm(this.timeoutMs);
  }

  /** Stops the clock of an answered command; its timer, if it was the oldest, fires once for nothing. */
  remove(command: PendingCommand): void {
    if (!command.queued) return;
    command.queued = false;
    const { previous, next } = command;
    if (previous) previous.next = next;
    else this.head = next;
    if (next) next.previous = previous;
    else this.tail = previous;
    command.previous = command.next = undefined;
  }

  private arm(ms: number): void {
    this.timer = setTimeout(this.fire, Math.max(1, ms));
    // A command must never keep the process alive on its own.
    this.timer.unref?.();
  }

  private readonly fire = (): void => {
    this.timer = undefined;
    const now = Date.now();
    while (this.head !== undefined && this.head.deadline <= now) {
      const overdue = this.head;
      this.remove(overdue);
      overdue.expire();
    }
    if (this.head !== undefined) this.arm(this.head.deadline - now);
  };
}
