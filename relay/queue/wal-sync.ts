// Makes committed WAL frames durable without blocking the event loop. SQLite runs with
// synchronous=NORMAL, so COMMIT writes the transaction's frames to the WAL file without syncing it;
// fdatasync on that file, started after COMMIT returned, puts them on disk. It runs on libuv's thread
// pool while the event loop goes on receiving mail.
//
// Why this is as safe as synchronous=FULL for the commits it covers: the frames of a committed
// transaction stay in the WAL until a checkpoint has copied them into the database file, and in NORMAL
// mode SQLite syncs the WAL before and the database after every checkpoint, before the WAL may be
// rewritten. So once our sync returns, the commit is on disk either in the WAL or in the database.
//
// Syncs are coalesced: while one runs, the commits made meanwhile wait together for the next one,
// so a slow disk makes the groups larger instead of the queue longer. The Spool goes further and does
// not even commit while a sync runs (whenIdle): one commit and one sync per group of accepts. Files written beside the
// database for those commits (body segments) are synced with the WAL, in parallel.
import { closeSync, fdatasync, fdatasyncSync, openSync } from "node:fs";

type Done = (error: Error | undefined) => void;

/** Other files a commit may depend on: synced together with the WAL. */
export interface AlsoSynced {
  /** Starts their syncs; resolves with what to run once the WAL sync has returned as well. */
  syncDirty(): Promise<() => void>;
  syncDirtyNow(): void;
}

const noOtherFiles: AlsoSynced = { syncDirty: () => Promise.resolve(() => undefined), syncDirtyNow: () => undefined };

export class WalSync {
  readonly #fd: number;
  readonly #also: AlsoSynced;
  /** Commits waiting for a sync that starts after them. */
  #waiting: Done[] = [];
  /** Called once the sync in flight has settled (see whenIdle). */
  #idle: (() => void)[] = [];
  /** Commits covered by the sync in flight, or null if none runs. */
  #inFlight: Done[] | null = null;
  /**
   * The error of a failed sync. After one, the kernel may have dropped the dirty pages and a later
   * sync could succeed without them, so nothing is promised durable again until a restart.
   */
  #failure: Error | undefined;
  #closed = false;
  #syncs = 0;
  /** fdatasync calls on the thread pool that have not returned (independent of batches). */
  #inFlightSyncs = 0;

  /** Opens the WAL file; it exists once the database was opened in WAL mode and read. */
  constructor(walPath: string, also: AlsoSynced = noOtherFiles) {
    this.#fd = openSync(walPath, "r");
    this.#also = also;
  }

  /** Why nothing can be promised durable any more (a sync failed), or undefined. */
  get failure(): string | undefined {
    return this.#failure?.message;
  }

  /** fdatasync calls made so far. */
  get syncs(): number {
    return this.#syncs;
  }

  /** Whether a sync is running: a commit made now would wait for the next one anyway. */
  get busy(): boolean {
    return this.#inFlight !== null;
  }

  /** Runs `then` once the sync in flight has settled; returns a function that cancels that. */
  whenIdle(then: () => void): () => void {
    this.#idle.push(then);
    return () => {
      const i = this.#idle.indexOf(then);
      if (i !== -1) this.#idle.splice(i, 1);
    };
  }

  /** Calls `done` once every commit made so far is on disk, or with the error that prevented it. */
  afterCommit(done: Done): void {
    if (this.#closed || this.#failure !== undefined) {
      done(this.#failure ?? new Error("the spool is closed"));
      return;
    }
    this.#waiting.push(done);
    if (this.#inFlight === null) this.#start();
  }

  /** Syncs what is still waiting, now, and closes the file. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    const pending = [...(this.#inFlight ?? []), ...this.#waiting];
    this.#inFlight = null;
    this.#waiting = [];
    let error: Error | undefined = this.#failure;
    if (error === undefined && pending.length > 0) {
      this.#syncs++;
      try {
        fdatasyncSync(this.#fd);
        this.#also.syncDirtyNow();
      } catch (cause) {
        error = syncFailed(cause);
      }
    }
    // A sync still running on the thread pool holds the fd: it is closed when that returns.
    if (this.#inFlightSyncs === 0) closeSync(this.#fd);
    for (const done of pending) done(error);
  }

  #start(): void {
    const batch = this.#waiting;
    this.#waiting = [];
    this.#inFlight = batch;
    this.#syncs++;
    this.#inFlightSyncs++;
    const wal = new Promise<void>((resolve, reject) =>
      fdatasync(this.#fd, (error) => {
        if (--this.#inFlightSyncs === 0 && this.#closed) closeSync(this.#fd);
        if (error === null) resolve();
        else reject(error);
      }),
    );
    const settle = (cause: unknown) => {
      // close() settled this batch already.
      if (this.#inFlight !== batch) return;
      this.#inFlight = null;
      if (cause !== null) this.#failure = syncFailed(cause);
      for (const done of batch) done(this.#failure);
      if (this.#failure !== undefined) {
        for (const done of this.#waiting.splice(0)) done(this.#failure);
      } else if (this.#waiting.length > 0) {
        this.#start();
      }
      for (const then of this.#idle.splice(0)) then();
    };
    Promise.all([wal, this.#also.syncDirty()]).then(([, afterBoth]) => {
      afterBoth();
      settle(null);
    }, settle);
  }
}

function syncFailed(cause: unknown): Error {
  return new Error(`fdatasync of the spool failed: ${cause instanceof Error ? cause.message : String(cause)}`, { cause });
}
