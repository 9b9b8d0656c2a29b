/**
 * The n greatest items of a stream under `before` (a strict "ranks higher"),
 * in O(total · log n) time and O(n) memory: a min-heap whose root is the
 * weakest item kept. Used to pick the zones to show out of 100,000 without
 * sorting them all every second.
 */
export class TopN<T extends R, R = T> {
  private readonly heap: T[] = [];

  /** `before` ranks by R, the part of an item that decides its rank. */
  constructor(
    private readonly n: number,
    private readonly before: (a: R, b: R) => boolean,
  ) {}

  /** Whether an item ranking like `probe` would be kept; lets callers skip building items that would not. */
  wouldKeep(probe: R): boolean {
    if (this.heap.length < this.n) return true;
    return this.n > 0 && this.before(probe, this.heap[0] as T);
  }

  offer(item: T): void {
    if (this.n <= 0) return;
    const heap = this.heap;
    if (heap.length < this.n) {
      heap.push(item);
      this.up(heap.length - 1);
    } else if (this.before(item, heap[0] as T)) {
      heap[0] = item;
      this.down(0);
    }
  }

  /** The kept items, best first. */
  sorted(): T[] {
    return [...this.heap].sort((a, b) => (this.before(a, b) ? -1 : this.before(b, a) ? 1 : 0));
  }

  // The heap orders the weakest item at the root: a parent never ranks before its children.
  private up(i: number): void {
    const heap = this.heap;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (!this.before(heap[parent] as T, heap[i] as T)) break;
      [heap[parent], heap[i]] = [heap[i] as T, heap[parent] as T];
      i = parent;
    }
  }

  private down(i: number): void {
    const heap = this.heap;
    for (;;) {
      const left = 2 * i + 1;
      const right = left + 1;
      let weakest = i;
      if (left < heap.length && this.before(heap[weakest] as T, heap[left] as T)) weakest = left;
      if (right < heap.length && this.before(heap[weakest] as T, heap[right] as T)) weakest = right;
      if (weakest === i) return;
      [heap[weakest], heap[i]] = [heap[i] as T, heap[weakest] as T];
      i = weakest;
    }
  }
}
