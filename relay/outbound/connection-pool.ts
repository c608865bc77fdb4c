// Connections kept per destination, so several mails to one server share a session, and a limit on how
// many are open to one destination at once (idle ones included), so a big queue for one domain cannot
// flood its server. Callers over the limit wait in arrival order. Knows nothing about SMTP: a resource
// only has to say whether it is still usable and how to close it.

export interface PooledResource {
  /** False once the peer or an error ended it; an idle resource found dead is dropped. */
  readonly alive: boolean;
  close(): void;
}

export interface PoolLimits {
  /** Open resources per key, idle ones included. */
  readonly maxPerKey: number;
  /** Uses of one resource before it is closed instead of kept. */
  readonly maxUses: number;
  /** How long an idle resource is kept. */
  readonly idleMs: number;
  /** How long a caller waits for a resource of a key at its limit before DestinationBusyError. */
  readonly waitMs: number;
}

export interface Lease<R extends PooledResource> {
  readonly key: string;
  readonly resource: R;
  /** True when the resource served earlier callers (so a failure may be its staleness). */
  readonly reused: boolean;
  /** Uses before this one. */
  readonly uses: number;
}

/** The `code` of the error for callers refused because the pool is closed. */
export const POOL_CLOSED = "OUTBOUND_POOL_CLOSED";

export class PoolClosedError extends Error {
  readonly code = POOL_CLOSED;
  constructor() {
    super("the outbound connection pool is closed");
  }
}

interface Idle<R> {
  readonly resource: R;
  readonly uses: number;
  readonly timer: NodeJS.Timeout;
}

/** The `code` of the error for callers that waited too long for a busy destination. */
export const DESTINATION_BUSY = "OUTBOUND_DESTINATION_BUSY";

export class DestinationBusyError extends Error {
  readonly code = DESTINATION_BUSY;
  constructor(limit: number) {
    super(`destination busy: all ${limit} connections to it are in use`);
  }
}

/** A waiter is handed an idle resource, or the right to open one (its slot already counted). */
type Grant<R> = { idle: Idle<R> } | { open: true };

interface Waiter<R> {
  resolve(grant: Grant<R>): void;
  reject(error: Error): void;
}

interface KeyState<R> {
  /** Resources open or being opened, idle ones included. */
  open: number;
  readonly idle: Idle<R>[];
  readonly waiters: Waiter<R>[];
}

export class ConnectionPool<R extends PooledResource> {
  readonly #limits: PoolLimits;
  readonly #keys = new Map<string, KeyState<R>>();
  #closed = false;

  constructor(limits: PoolLimits) {
    this.#limits = limits;
  }

  /** A resource for `key`: an idle one, a new one from `open`, or the next one freed. */
  async acquire(key: string, open: () => Promise<R>): Promise<Lease<R>> {
    if (this.#closed) throw new PoolClosedError();
    const state = this.#state(key);
    const idle = this.#takeIdle(state);
    if (idle !== undefined) return { key, resource: idle.resource, reused: true, uses: idle.uses };
    if (state.open >= this.#limits.maxPerKey) {
      const grant = await new Promise<Grant<R>>((resolve, reject) => {
        const waiter: Waiter<R> = {
          resolve: (g) => {
            clearTimeout(timer);
            resolve(g);
          },
          reject: (e) => {
            clearTimeout(timer);
            reject(e);
          },
        };
        // A caller does not wait for ever behind a busy destination: it holds a worker slot that
        // mail for other destinations needs. It gives up its place and is told the destination is busy.
        const timer = setTimeout(() => {
          const at = state.waiters.indexOf(waiter);
          if (at !== -1) state.waiters.splice(at, 1);
          reject(new DestinationBusyError(this.#limits.maxPerKey));
        }, this.#limits.waitMs);
        state.waiters.push(waiter);
      });
      if ("idle" in grant) return { key, resource: grant.idle.resource, reused: true, uses: grant.idle.uses };
    } else {
      state.open++;
    }
    try {
      return { key, resource: await open(), reused: false, uses: 0 };
    } catch (err) {
      this.#closeSlot(key, state);
      throw err;
    }
  }

  /** Gives the resource back: kept for reuse when `reusable` and within limits, else closed. */
  release(lease: Lease<R>, reusable: boolean): void {
    const state = this.#state(lease.key);
    const uses = lease.uses + 1;
    if (!reusable || this.#closed || !lease.resource.alive || uses >= this.#limits.maxUses) {
      lease.resource.close();
      this.#closeSlot(lease.key, state);
      return;
    }
    const idle: Idle<R> = { resource: lease.resource, uses, timer: this.#idleTimer(lease.key, lease.resource) };
    const waiter = state.waiters.shift();
    if (waiter !== undefined) {
      clearTimeout(idle.timer);
      waiter.resolve({ idle });
    } else {
      state.idle.push(idle);
    }
  }

  /** Open resources per key (idle included), for metrics and tests. */
  openCount(key: string): number {
    return this.#keys.get(key)?.open ?? 0;
  }

  /** Closes idle resources and refuses waiters; leased ones are closed when released. */
  close(): void {
    this.#closed = true;
    for (const [key, state] of this.#keys) {
      for (const idle of state.idle.splice(0)) {
        clearTimeout(idle.timer);
        idle.resource.close();
        state.open--;
      }
      for (const waiter of state.waiters.splice(0)) waiter.reject(new PoolClosedError());
      this.#forgetIfUnused(key, state);
    }
  }

  #state(key: string): KeyState<R> {
    let state = this.#keys.get(key);
    if (state === undefined) {
      state = { open: 0, idle: [], waiters: [] };
      this.#keys.set(key, state);
    }
    return state;
  }

  /** The most recently used live idle resource (the likeliest to still be open at the server). */
  #takeIdle(state: KeyState<R>): Idle<R> | undefined {
    for (let idle = state.idle.pop(); idle !== undefined; idle = state.idle.pop()) {
      clearTimeout(idle.timer);
      if (idle.resource.alive) return idle;
      idle.resource.close();
      state.open--;
    }
    return undefined;
  }

  #idleTimer(key: string, resource: R): NodeJS.Timeout {
    const timer = setTimeout(() => {
      const state = this.#keys.get(key);
      const i = state?.idle.findIndex((idle) => idle.resource === resource) ?? -1;
      if (state === undefined || i === -1) return;
      state.idle.splice(i, 1);
      resource.close();
      this.#closeSlot(key, state);
    }, this.#limits.idleMs);
    // An idle connection must not keep the process alive.
    timer.unref();
    return timer;
  }

  /** One resource fewer: the next waiter, if any, may open its own. */
  #closeSlot(key: string, state: KeyState<R>): void {
    state.open--;
    const waiter = state.waiters.shift();
    if (waiter !== undefined) {
      state.open++;
      waiter.resolve({ open: true });
    }
    this.#forgetIfUnused(key, state);
  }

  #forgetIfUnused(key: string, state: KeyState<R>): void {
    if (state.open === 0 && state.waiters.length === 0) this.#keys.delete(key);
  }
}
