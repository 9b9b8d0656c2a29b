import type { EngineView } from './engine-view.js';

export interface Readiness {
  ready: boolean;
  status: string;
}

/**
 * Liveness and readiness. Live: the process answers (its event loop turns).
 * Ready: the pipeline runs, and with a partitioned source its partitions are
 * assigned and their state restored, so it is doing its share of the work;
 * not ready again once it has stopped.
 */
export class Health {
  private view: EngineView | undefined;
  private stopped = false;
  private readonly startedAt = Date.now();

  attach(view: EngineView): void {
    this.view = view;
  }

  /** The run is over (drained, stopped or failed): a load balancer should stop counting on this process. */
  stop(): void {
    this.stopped = true;
  }

  live() {
    return { live: true, uptimeSeconds: Math.round((Date.now() - this.startedAt) / 1000) };
  }

  readiness(): Readiness {
    if (this.stopped) return { ready: false, status: 'stopped' };
    if (this.view === undefined) return { ready: false, status: 'starting' };
    if (!this.view.ready()) return { ready: false, status: 'waiting for partitions to be assigned and their state restored' };
    return { ready: true, status: 'running' };
  }
}
