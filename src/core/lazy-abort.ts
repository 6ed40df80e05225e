import { onAbort } from './abort-listener.js';

/** What a {@link LazyAbort} knows beyond "nothing happened yet": made only once there is something to hold. */
interface AbortLinks {
  parent: LazyAbort | AbortSignal | undefined;
  controller: AbortController | undefined;
  abortedWith: { reason: unknown } | undefined;
  /** Listeners on the parent to remove on release. */
  unlinkParent: (() => void) | undefined;
  unlinkWatcher: (() => void) | undefined;
}

/**
 * An abort that costs nothing until someone asks for its `AbortSignal`: an `AbortController` and its listener
 * cost dozens of awaited calls, so the happy path of every policy must not create one. The controller is made on
 * first access to {@link LazyAbort.signal}, already aborted if the abort came first, and linked then to the
 * parent so an outer abort reaches it.
 */
export class LazyAbort {
  // One field, empty on the happy path: a timeout allocates one of these per call, and each field costs.
  declare private links: AbortLinks | undefined;

  /** @param parent - an outer abort (lazy or real) whose abort also aborts this one */
  constructor(parent?: LazyAbort | AbortSignal) {
    this.links = parent === undefined ? undefined : newLinks(parent);
  }

  /** The outer abort given to the constructor. */
  get parent(): LazyAbort | AbortSignal | undefined {
    return this.links?.parent;
  }

  /** True once this abort or any ancestor has been aborted. */
  get aborted(): boolean {
    const links = this.links;
    if (links === undefined) return false;
    return links.abortedWith !== undefined || (links.parent !== undefined && links.parent.aborted);
  }

  /** The abort reason, once {@link LazyAbort.aborted} is true (an ancestor's reason when it aborted first). */
  get reason(): unknown {
    const links = this.links;
    if (links?.abortedWith) return links.abortedWith.reason;
    return links?.parent?.reason as unknown;
  }

  /** The `AbortSignal`, created on first access. */
  get signal(): AbortSignal {
    const links = (this.links ??= newLinks(undefined));
    if (links.controller) return links.controller.signal;
    const controller = (links.controller = new AbortController());
    if (this.aborted) controller.abort(this.reason);
    else if (links.parent) {
      const parent = links.parent;
      const parentSignal = parent instanceof LazyAbort ? parent.signal : parent;
      links.unlinkParent = onAbort(parentSignal, () => this.abort(parentSignal.reason));
    }
    return controller.signal;
  }

  /** Aborts with `reason` (first call wins) and detaches from the parent. */
  abort(reason: unknown): void {
    const links = (this.links ??= newLinks(undefined));
    if (links.abortedWith) return;
    links.abortedWith = { reason };
    this.release();
    links.controller?.abort(reason);
  }

  /**
   * Calls `onAbort` as soon as `signal` (the parent given to the constructor, a caller's own signal) aborts,
   * whether or not anyone asked for this abort's signal, until {@link LazyAbort.release}.
   */
  watch(signal: AbortSignal, aborted: () => void): void {
    (this.links ??= newLinks(undefined)).unlinkWatcher = onAbort(signal, aborted);
  }

  /** Stops listening to the parent: call when the work is over so a long-lived parent signal does not leak listeners. */
  release(): void {
    const links = this.links;
    if (links === undefined) return;
    const { unlinkParent, unlinkWatcher } = links;
    links.unlinkParent = links.unlinkWatcher = undefined;
    unlinkParent?.();
    unlinkWatcher?.();
  }
}

function newLinks(parent: LazyAbort | AbortSignal | undefined): AbortLinks {
  return {
    parent,
    controller: undefined,
    abortedWith: undefined,
    unlinkParent: undefined,
    unlinkWatcher: undefined,
  };
}
