import pRetry from 'p-retry';
import { describeError, KlaxonError } from '../errors.js';
import type { PartitionControl } from '../io/types.js';
import { logger } from '../log.js';
import type { Checkpoints } from './checkpoints.js';
import type { Ledger } from './ledger.js';

const log = logger('partitions');

/** The exactly-once transactional ids of partitions (io/kafka/transactions.ts). */
export interface PartitionOwnership {
  acquire(partition: number): Promise<void>;
  release(partition: number): Promise<void>;
}

/** Who else follows partitions (the deliveries): told once one is recovered, before its records go on, and when they leave. */
export interface PartitionFollower {
  recovered(partition: number, stillOwned: () => boolean): Promise<void>;
  revoked(partitions: readonly number[]): void;
}

export interface LifecycleOptions {
  ownership?: PartitionOwnership | undefined;
  follower?: PartitionFollower | undefined;
  /** After a lost commit, how long to wait before taking the partition back: long enough for a rebalance to reach this member. */
  recoverAfterLossMs?: number | undefined;
}

/**
 * What happens when a partition arrives, leaves, or is lost by a commit:
 * the one place that orders the transactional id, the checkpoints' recovery
 * and the ledger's position. Recovery is retried while the partition is still
 * this member's and the failure is one a broker or Redis coming back can fix
 * (a lost broker means waiting, not exiting); unusable state is not retried.
 */
export class PartitionLifecycle {
  /** Partitions whose recovery is failing and being retried (readiness is false meanwhile). */
  private readonly retrying = new Set<number>();
  /** The run is over: nothing is recovered any more (the state store may be closed). */
  private closed = false;
  /** Per partition, the latest recovery: an older one still retrying stops (the partition was given up and taken again). */
  private readonly recoveries = new Map<number, object>();

  private readonly ownership: PartitionOwnership | undefined;
  private readonly follower: PartitionFollower | undefined;
  private readonly recoverAfterLossMs: number;

  constructor(
    private readonly control: PartitionControl,
    private readonly checkpoints: Checkpoints,
    private readonly ledger: Ledger,
    options: LifecycleOptions = {},
  ) {
    this.ownership = options.ownership;
    this.follower = options.follower;
    this.recoverAfterLossMs = options.recoverAfterLossMs ?? 2_000;
  }

  listen(): void {
    this.control.listen({
      assigned: (partition) => this.recover(partition),
      revoked: (partitions) => this.release(partitions),
    });
  }

  /** The run is over: recoveries in progress give up, none start. */
  close(): void {
    this.closed = true;
  }

  /** A commit lost these partitions: forget them now, and take them back once the group has had time to say whose they are. */
  lost(partitions: readonly number[]): void {
    this.checkpoints.revoked(partitions);
    for (const partition of partitions) {
      setTimeout(() => {
        if (!this.closed && this.control.owns(partition)) this.control.recover(partition);
      }, this.recoverAfterLossMs).unref();
    }
  }

  private async recover(partition: number): Promise<void> {
    if (this.closed) return;
    const recovery = {};
    this.recoveries.set(partition, recovery);
    const current = () => !this.closed && this.recoveries.get(partition) === recovery && this.control.owns(partition);
    await pRetry(
      async () => {
        // A superseded recovery starts no further step: the latest one owns the partition's state.
        if (!current()) return;
        await this.ownership?.acquire(partition);
        if (!current()) return;
        const recovered = await this.checkpoints.assigned(partition);
        if (recovered === undefined || !current()) return;
        this.ledger.resume(partition, recovered.committed, recovered.snapshotAhead);
        await this.follower?.recovered(partition, current);
      },
      {
        retries: Number.POSITIVE_INFINITY,
        minTimeout: 500,
        maxTimeout: 5_000,
        shouldRetry: ({ error }) => current() && !(error instanceof KlaxonError && !error.retriable),
        onFailedAttempt: ({ error, attemptNumber }) => {
          if (attemptNumber === 1) log.warn({ partition, err: error }, `cannot recover the partition yet, retrying: ${describeError(error)}`);
          this.retrying.add(partition);
        },
      },
    ).finally(() => {
      if (this.retrying.delete(partition)) log.info({ partition }, 'partition recovered after retries');
    });
  }

  private release(partitions: readonly number[]): void {
    for (const partition of partitions) this.recoveries.delete(partition);
    this.ledger.forget(partitions);
    this.checkpoints.revoked(partitions);
    this.follower?.revoked(partitions);
    for (const partition of partitions) {
      this.ownership?.release(partition).catch((error: unknown) => log.warn({ partition, err: error }, 'releasing the transactional id failed'));
    }
  }
}
