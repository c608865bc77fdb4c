// Whether a webhook's endpoint is taken to be down. Retrying every queued post at its interval hammers an
// endpoint that is down with the whole backlog (the bench's backlog scenario: 190,909 refused posts in
// 35 s for 100,000 queued mails) and spends the relay's CPU on failures. So after enough failed posts
// in a row (inbound-worker.ts says how many) the webhook is held: none of its posts start until the hold ends (the failed post's
// next attempt, Retry-After included); then one post alone probes the endpoint. Its success lets
// everything through again; its failure holds the webhook once more. Held jobs wait in the spool,
// due, and their retry period still ends them (inbound-worker.ts gives those up).
// Pure: the delivery loop asks and tells it. Keyed by webhook and endpoint, so a corrected endpoint
// starts afresh.

type State = { failures: number; heldUntil: number };

export class DeliveryBreaker {
  readonly #openAfter: number;
  readonly #states = new Map<string, State>();

  constructor(openAfter: number) {
    this.#openAfter = openAfter;
  }

  /** Posts to this target that may be in flight at `now`: any number, one (the probe), or none (held). */
  allowance(target: string, now: number): number {
    const state = this.#open(target);
    if (state === undefined) return Infinity;
    return now < state.heldUntil ? 0 : 1;
  }

  /** When the hold on this target ends, if it is held at `now`. */
  heldUntil(target: string, now: number): number | undefined {
    const state = this.#open(target);
    return state !== undefined && now < state.heldUntil ? state.heldUntil : undefined;
  }

  /** The endpoint answered (any answer that is not a retryable failure). */
  succeeded(target: string): void {
    this.#states.delete(target);
  }

  /** A post failed and is due again at `retryAt`. True when the target is held now. */
  failed(target: string, retryAt: number): boolean {
    const state = this.#states.get(target) ?? { failures: 0, heldUntil: 0 };
    state.failures++;
    state.heldUntil = Math.max(state.heldUntil, retryAt);
    this.#states.set(target, state);
    return state.failures >= this.#openAfter;
  }

  #open(target: string): State | undefined {
    const state = this.#states.get(target);
    return state !== undefined && state.failures >= this.#openAfter ? state : undefined;
  }
}

/** The breaker's key for a webhook as configured now. */
export const breakerTarget = (webhookKey: string, endpoint: string): string => `${webhookKey} ${endpoint}`;
