// Where the spool keeps the bytes of fresh inbound mail: append-only segment files beside the
// database (`spool.dir/bodies/<n>.seg`), the database row holding (segment, offset) and the checksum.
// A body in SQLite is written twice (WAL, then checkpoint) in 4 KiB pages and freed page by page;
// here it is one pwrite, and its space comes back when the whole segment is deleted.
//
// Durability: an accepted body is fdatasync'ed with the WAL holding its row before the `250` (the
// Spool's WalSync calls syncDirty). A segment file's directory entry is synced when it is created.
//
// Lifetime: every message row that points into a segment counts as one reference, taken when the
// body is appended (before its row commits, so a rollover cannot delete a segment a commit is about
// to reference) and given back when the row is deleted or its body moved into SQLite. A segment no
// longer written to and no longer referenced is deleted. Bodies that stay queued (an endpoint down,
// a suspended webhook) are moved into SQLite by the Spool after a while, so a few of them cannot pin
// whole segments for days.
import { closeSync, fdatasync, fdatasyncSync, mkdirSync, openSync, readdirSync, readSync, unlinkSync, writeSync } from "node:fs";
import { join } from "node:path";
import { BODIES_DIR, syncDirectory } from "./database-file.ts";

/** A new segment is started once the current one holds this much. */
export const SEGMENT_BYTES = 64 * 1024 * 1024;
const SEGMENT_NAME = /^(\d{1,15})\.seg$/;

interface Segment {
  readonly n: number;
  readonly fd: number;
  size: number;
  refs: number;
  /** Written since its last sync started. */
  dirty: boolean;
  /** Syncs of it in flight: its fd stays open until they are done. */
  syncing: number;
  /** Deleted (or the store closed): unusable, and the last sync in flight closes its fd. */
  gone: boolean;
}

export interface BodyLocation {
  readonly segment: number;
  readonly offset: number;
}

export class BodySegments {
  readonly #dir: string;
  readonly #segments = new Map<number, Segment>();
  readonly #segmentBytes: number;
  #active: Segment;

  /**
   * Opens `spoolDir/bodies`, keeping the segments `referenced` names (segment → rows pointing into it)
   * and deleting the others (left by a crash between a commit and a deletion); starts a new segment.
   */
  constructor(spoolDir: string, referenced: ReadonlyMap<number, number>, segmentBytes = SEGMENT_BYTES) {
    this.#dir = join(spoolDir, BODIES_DIR);
    this.#segmentBytes = segmentBytes;
    mkdirSync(this.#dir, { recursive: true, mode: 0o700 });
    let highest = 0;
    for (const name of readdirSync(this.#dir)) {
      const n = Number(SEGMENT_NAME.exec(name)?.[1] ?? NaN);
      if (!Number.isSafeInteger(n)) continue;
      highest = Math.max(highest, n);
      const refs = referenced.get(n) ?? 0;
      if (refs === 0) {
        unlinkSync(join(this.#dir, name));
        continue;
      }
      const fd = openSync(join(this.#dir, name), "r");
      this.#segments.set(n, { n, fd, size: 0, refs, dirty: false, syncing: 0, gone: false });
    }
    // Rows pointing into a segment that is gone keep their number: reading them reports it missing.
    for (const n of referenced.keys()) highest = Math.max(highest, n);
    this.#active = this.#create(highest + 1);
  }

  /** Appends a body and takes a reference on its segment for the row about to point at it. */
  append(raw: Uint8Array): BodyLocation {
    if (this.#active.size >= this.#segmentBytes) this.#rollOver();
    const segment = this.#active;
    const offset = segment.size;
    let written = 0;
    while (written < raw.byteLength) written += writeSync(segment.fd, raw, written, raw.byteLength - written, offset + written);
    segment.size += raw.byteLength;
    segment.refs++;
    segment.dirty = true;
    return { segment: segment.n, offset };
  }

  /** The bytes at a location, or null if the segment is gone or shorter than that. */
  read(at: BodyLocation, length: number): Buffer | null {
    const segment = this.#segments.get(at.segment);
    if (segment === undefined || segment.gone) return null;
    const bytes = Buffer.allocUnsafe(length);
    let read = 0;
    while (read < length) {
      const n = readSync(segment.fd, bytes, read, length - read, at.offset + read);
      if (n === 0) return null;
      read += n;
    }
    return bytes;
  }

  /** A row no longer points into `n` (deleted, or its body moved); an unused old segment goes. */
  release(n: number): void {
    const segment = this.#segments.get(n);
    if (segment === undefined) return;
    segment.refs--;
    if (segment.refs <= 0 && segment !== this.#active) this.#delete(segment);
  }

  /** Syncs every segment written since its last sync; resolves when all are on disk. */
  syncDirty(): Promise<void> {
    const pending: Promise<void>[] = [];
    for (const segment of this.#segments.values()) {
      if (!segment.dirty) continue;
      segment.dirty = false;
      segment.syncing++;
      pending.push(
        new Promise<void>((resolve, reject) => {
          fdatasync(segment.fd, (error) => {
            segment.syncing--;
            if (segment.gone && segment.syncing === 0) closeSync(segment.fd);
            if (error === null) resolve();
            else reject(error);
          });
        }),
      );
    }
    return Promise.all(pending).then(() => undefined);
  }

  /** syncDirty, now, on this thread (close). */
  syncDirtyNow(): void {
    for (const segment of this.#segments.values()) {
      if (!segment.dirty) continue;
      segment.dirty = false;
      fdatasyncSync(segment.fd);
    }
  }

  /** Segments in use, the one written to included: referenced ones keep their space. */
  get segmentCount(): number {
    return this.#segments.size;
  }

  get activeSegment(): number {
    return this.#active.n;
  }

  /** Closes every file (after syncDirtyNow). */
  close(): void {
    for (const segment of this.#segments.values()) {
      segment.gone = true;
      if (segment.syncing === 0) closeSync(segment.fd);
    }
    this.#segments.clear();
  }

  #rollOver(): void {
    const old = this.#active;
    this.#active = this.#create(old.n + 1);
    if (old.refs <= 0) this.#delete(old);
  }

  #create(n: number): Segment {
    const fd = openSync(join(this.#dir, `${n}.seg`), "wx+", 0o600);
    // The file must be found after a power loss before any 250 depends on it.
    syncDirectory(this.#dir);
    const segment: Segment = { n, fd, size: 0, refs: 0, dirty: false, syncing: 0, gone: false };
    this.#segments.set(n, segment);
    return segment;
  }

  #delete(segment: Segment): void {
    segment.gone = true;
    this.#segments.delete(segment.n);
    unlinkSync(join(this.#dir, `${segment.n}.seg`));
    // A sync in flight still holds the fd; the last one closes it.
    if (segment.syncing === 0) closeSync(segment.fd);
  }
}
