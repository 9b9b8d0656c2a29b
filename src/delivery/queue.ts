/**
 * A FIFO queue with a capacity. Dropping: a push beyond the capacity removes
 * the oldest items and says how many. Not dropping: it grows past the
 * capacity, and the owner holds its producers back until there is room.
 */
export class BoundedQueue<T> {
  private items: T[] = [];
  /** Index of the oldest item: taking from the front is O(1), compacted now and then. */
  private head = 0;

  constructor(
    readonly capacity: number,
    private readonly dropOldest: boolean,
  ) {}

  get length(): number {
    return this.items.length - this.head;
  }

  get full(): boolean {
    return this.length >= this.capacity;
  }

  /** Appends `items` in order; returns how many of the oldest were dropped to make room. */
  push(items: readonly T[]): number {
    for (const item of items) this.items.push(item);
    if (!this.dropOldest || this.length <= this.capacity) return 0;
    const dropped = this.length - this.capacity;
    this.head += dropped;
    this.compact();
    return dropped;
  }

  /** The oldest item, left in place. */
  peek(): T | undefined {
    return this.items[this.head];
  }

  /** Removes and returns up to `max` of the oldest items. */
  take(max: number): T[] {
    const taken = this.items.slice(this.head, this.head + max);
    this.head += taken.length;
    this.compact();
    return taken;
  }

  /** Removes and returns everything. */
  clear(): T[] {
    return this.take(this.length);
  }

  private compact(): void {
    if (this.head === this.items.length) {
      this.items = [];
      this.head = 0;
    } else if (this.head > 1_024 && this.head * 2 > this.items.length) {
      this.items = this.items.slice(this.head);
      this.head = 0;
    }
  }
}
