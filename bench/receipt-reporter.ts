// What the bench's server children share: the IPC channel to the harness that owns them and the `ready`
// handshake (every server), and for the collectors (the HTTPS receiver, the SMTP sink) the first receipt
// time of each token, reported in batches (one IPC message per 50 ms, so reporting costs them almost nothing).
import type { AddressInfo, Server } from "node:net";
import { tokenPattern, type Ready, type Receipts } from "./protocol.ts";

/** The channel to the harness; a child started any other way is a usage error. */
export function harnessChannel(what: string): (message: Ready | Receipts) => void {
  if (process.send === undefined) throw new Error(`${what}: run by the bench harness with fork()`);
  const send = process.send.bind(process);
  // The harness owns this process: when its IPC channel closes (the harness ended, however), stop.
  process.on("disconnect", () => process.exit(0));
  return (message) => send(message);
}

/** Listen on an OS-chosen loopback port and tell the harness which. */
export function listenAndAnnounce(server: Server, send: (message: Ready) => void): void {
  server.listen(0, "127.0.0.1", () => send({ type: "ready", port: (server.address() as AddressInfo).port }));
}

export class ReceiptReporter {
  #seen = new Set<string>();
  #items: Receipts["items"] = [];
  #duplicates: string[] = [];
  #posts: string[] = [];
  #unknown = 0;
  #refused: string[] = [];

  constructor(send: (batch: Receipts) => void) {
    setInterval(() => {
      if (this.#items.length === 0 && this.#duplicates.length === 0 && this.#posts.length === 0 && this.#unknown === 0 && this.#refused.length === 0) return;
      send({ type: "receipts", items: this.#items, duplicates: this.#duplicates, posts: this.#posts, unknown: this.#unknown, refused: this.#refused });
      this.#items = [];
      this.#duplicates = [];
      this.#posts = [];
      this.#unknown = 0;
      this.#refused = [];
    }, 50);
  }

  /** Token `seq` of `run` arrived at `at`; a repeat (at-least-once delivery) counts as a duplicate. */
  receipt(run: string, seq: number, at: number): void {
    const key = `${run}/${seq}`;
    if (this.#seen.has(key)) {
      this.#duplicates.push(run);
      return;
    }
    this.#seen.add(key);
    this.#items.push([run, seq, at]);
  }

  /** One mail (a post, an SMTP message) whose token is somewhere in `text`. */
  mail(text: string, at: number): void {
    const match = tokenPattern.exec(text);
    if (match === null) return this.unknown();
    const run = match[1] ?? "";
    this.post(run);
    this.receipt(run, Number(match[2]), at);
  }

  /** A request (a post, an event batch) that carried tokens of `run`. */
  post(run: string): void {
    this.#posts.push(run);
  }

  /** A post the endpoint refused, whose token is somewhere in `text`: not a receipt. */
  refusedMail(text: string): void {
    const run = tokenPattern.exec(text)?.[1];
    if (run !== undefined) this.#refused.push(run);
  }

  /** A request without any token. */
  unknown(): void {
    this.#unknown++;
  }
}
