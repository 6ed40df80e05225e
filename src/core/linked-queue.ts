/** What a {@link LinkedQueue} links: an object that carries its own neighbours (an intrusive list node). */
export interface QueueNode {
  /** The neighbours in arrival order, and the queue holding the node: owned by the queue. */
  previous: QueueNode | undefined;
  next: QueueNode | undefined;
  queue: LinkedQueue<QueueNode> | undefined;
}

/**
 * A FIFO whose nodes carry their own links: push, remove-from-anywhere (a waiter whose caller gave up leaves at
 * once, wherever it stands) and shift are O(1) at any depth, with no allocation of its own. `Array#shift` is
 * O(n), which turns a queue of 100,000 waiters quadratic.
 */
export class LinkedQueue<N extends QueueNode> {
  declare head: N | undefined;
  declare tail: N | undefined;
  /** Nodes queued now. */
  declare size: number;

  constructor() {
    this.head = this.tail = undefined;
    this.size = 0;
  }

  /**
   * Appends `node`. A node another queue (or this one) holds leaves it first: pushed twice as it stood, it would
   * link into a cycle and leave the other queue's size and links wrong.
   */
  push(node: N): void {
    if (node.queue !== undefined) unlink(node);
    node.queue = this;
    node.previous = this.tail;
    node.next = undefined;
    if (this.tail) this.tail.next = node;
    else this.head = node;
    this.tail = node;
    this.size++;
  }

  /** Removes `node` from the queue holding it; false (and nothing changes) when it is not queued. */
  static remove(node: QueueNode): boolean {
    return unlink(node);
  }

  /** Removes `node` if this queue holds it; false otherwise. */
  remove(node: N): boolean {
    return node.queue === (this as LinkedQueue<QueueNode>) && unlink(node);
  }

  /** Takes the oldest node out, or undefined when empty. */
  shift(): N | undefined {
    const head = this.head;
    if (head !== undefined) unlink(head);
    return head;
  }
}

// Outside the class: a class body that names its own class is renamed by bundlers (`class _LinkedQueue`).
function unlink(node: QueueNode): boolean {
  const queue = node.queue;
  if (queue === undefined) return false;
  const { previous, next } = node;
  if (previous) previous.next = next;
  else queue.head = next;
  if (next) next.previous = previous;
  else queue.tail = previous;
  node.previous = node.next = node.queue = undefined;
  queue.size--;
  return true;
}
