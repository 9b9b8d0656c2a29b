import type { EachBatchPayload } from 'kafkajs';

/** Batches handed on and not yet taken, at most: enough to keep the workers busy while kafkajs decodes the next fetch on this thread. */
export const MAX_QUEUED_BATCHES = 16;

/**
 * Holds a batch handler while `full()`, waking when a waiter is called (a
 * batch was taken) or every second to heartbeat, so the group keeps the
 * member (kafkajs has no blocking pause). False when the batch is no longer
 * wanted: the consumer stopped, or a rebalance made it stale.
 */
export async function waitForRoom(
  full: () => boolean,
  roomWaiters: Array<() => void>,
  { isRunning, isStale, heartbeat }: Pick<EachBatchPayload, 'isRunning' | 'isStale' | 'heartbeat'>,
): Promise<boolean> {
  while (full()) {
    await new Promise<void>((resolve) => {
      roomWaiters.push(resolve);
      setTimeout(resolve, 1_000);
    });
    if (!isRunning() || isStale()) return false;
    await heartbeat();
  }
  return true;
}
