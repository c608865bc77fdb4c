// Where the spool keeps the bytes of fresh inbound mail: append-only segment files beside the
// database (`spool.dir/bodies/<n>.seg`), the database row holding (segment, offset) and the checksum.
// A body in SQLite is written twice (WAL, then checkpoint) in 4 KiB pages and freed page by page;
// here it is one pwrite, and its space comes back when the whole segment is deleted.
//
// Durability: an accepted body is fdatasync'ed with the WAL holding its row before the `250` (the
// Spool's WalSync calls syncDirty), and so is the directory entry of a segment created for it.
//
// Lifetime: every message row that points into a segment counts as one reference, taken when the
// body is appended (before its row commits, so a rollover cannot delete a segment a commit is about
// to reference) and given back when the row is deleted or its body moved into SQLite. A segment no
// longer written to and no longer referenced is deleted — after the next sync, so that the commit
// which dropped its last reference is on disk before its bytes are gone. Bodies that stay queued (an
// endpoint down, a suspended webhook) are moved into SQLite by the Spool after a while, so a few of
// them cannot pin whole segments for days.
import { closeSync, fdatasync, fdatasyncSync, fsync, fsyncSync, mkdirSync, openSync, readdirSync, readSync, renameSync, unlinkSync, writeSync } from "node:fs";
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
  fdOpen: boolean;
}

export interface BodyLocation {
  readonly segment: number;
  readonly offset: number;
}

/** What the database says about the segments when the spool opens. */
export interface SegmentsAtStart {
  /** Rows pointing into each segment. */
  readonly referenced: ReadonlyMap<number, number>;
  /** The highest segment number this database recorded creating (see `onCreate`). */
  readonly recordedHigh: number;
}

export interface BodySegmentsOptions {
  readonly segmentBytes?: number;
  /** Told each new segment number, to record it (SegmentsAtStart.recordedHigh at the next start). */
  readonly onCreate: (n: number) => void;
  /** Names the folder unclaimed segments are moved to (quarantine, never deleted). */
  readonly quarantineDir: () => string;
}

export class BodySegments {
  readonly #dir: string;
  readonly #dirFd: number;
  readonly #segments = new Map<number, Segment>();
  readonly #segmentBytes: number;
  readonly #onCreate: (n: number) => void;
  #active: Segment;
  /** A segment was created since the directory was last synced. */
  #dirDirty = false;
  /** Unreferenced old segments, deleted once the next sync has returned. */
  #unlinkable: Segment[] = [];
  #closed = false;
  /** Where unclaimed segments found at start-up went, if any. */
  readonly movedAside: { readonly folder: string; readonly segments: number } | null = null;

  /**
   * Opens `spoolDir/bodies`. A segment no row points into is deleted when this database created it (a
   * crash between a commit and a deletion left it), and moved to quarantine otherwise (it is not this
   * database's: the one it belongs to was moved aside or lost). Starts a new segment.
   */
  constructor(spoolDir: string, start: SegmentsAtStart, options: BodySegmentsOptions) {
    this.#dir = join(spoolDir, BODIES_DIR);
    this.#segmentBytes = options.segmentBytes ?? SEGMENT_BYTES;
    this.#onCreate = options.onCreate;
    mkdirSync(this.#dir, { recursive: true, mode: 0o700 });
    // The folder itself must survive a power loss (its parent is synced by the Spool after this).
    this.#dirFd = openSync(this.#dir, "r");
    let highest = start.recordedHigh;
    const unclaimed: string[] = [];
    for (const name of readdirSync(this.#dir)) {
      const n = Number(SEGMENT_NAME.exec(name)?.[1] ?? NaN);
      if (!Number.isSafeInteger(n)) continue;
      highest = Math.max(highest, n);
      const refs = start.referenced.get(n) ?? 0;
      if (refs === 0) {
        if (n <= start.recordedHigh) unlinkSync(join(this.#dir, name));
        else unclaimed.push(name);
        continue;
      }
      const fd = openSync(join(this.#dir, name), "r");
      // Written by the last run, maybe not synced if it was killed: bodies of rows that commit later
      // than their mail was answered are not the question here, but cheap to rule out.
      fdatasyncSync(fd);
      this.#segments.set(n, { n, fd, size: 0, refs, dirty: false, syncing: 0, gone: false, fdOpen: true });
    }
    if (unclaimed.length > 0) {
      const folder = options.quarantineDir();
      mkdirSync(folder, { recursive: true, mode: 0o700 });
      for (const name of unclaimed) renameSync(join(this.#dir, name), join(folder, name));
      syncDirectory(folder);
      this.movedAside = { folder, segments: unclaimed.length };
    }
    // Rows pointing into a segment that is gone keep their number: reading them reports it missing.
    for (const n of start.referenced.keys()) highest = Math.max(highest, n);
    this.#active = this.#create(highest + 1);
    fsyncSync(this.#dirFd);
    this.#dirDirty = false;
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

  /**
   * A row no longer points into `n` (its deletion or body move committed). An old segment left without
   * references is deleted after the next sync: see needsSync.
   */
  release(n: number): void {
    const segment = this.#segments.get(n);
    if (segment === undefined) return;
    segment.refs--;
    if (segment.refs <= 0 && segment !== this.#active) this.#retire(segment);
  }

  /** Something waits for a sync: written segments, a new directory entry, or deletions. */
  get needsSync(): boolean {
    return this.#dirDirty || this.#unlinkable.length > 0 || [...this.#segments.values()].some((s) => s.dirty);
  }

  /**
   * Syncs every segment written since its last sync, and the directory if a segment was created;
   * resolves when all are on disk, with what to do once the WAL sync made alongside has returned too:
   * delete the segments retired before this sync started (their freeing commits are then on disk).
   */
  syncDirty(): Promise<() => void> {
    const pending: Promise<void>[] = [];
    for (const segment of this.#segments.values()) {
      if (!segment.dirty) continue;
      segment.dirty = false;
      segment.syncing++;
      pending.push(
        new Promise<void>((resolve, reject) => {
          fdatasync(segment.fd, (error) => {
            segment.syncing--;
            if (segment.gone) closeWhenIdle(segment);
            if (error === null) resolve();
            else reject(error);
          });
        }),
      );
    }
    if (this.#dirDirty) {
      this.#dirDirty = false;
      pending.push(new Promise<void>((resolve, reject) => fsync(this.#dirFd, (error) => (error === null ? resolve() : reject(error)))));
    }
    const unlink = this.#unlinkable.splice(0);
    return Promise.all(pending).then(() => () => {
      for (const segment of unlink) this.#unlink(segment);
    });
  }

  /** syncDirty, now, on this thread (close): including segments whose sync is still in flight. */
  syncDirtyNow(): void {
    for (const segment of this.#segments.values()) {
      if (!segment.dirty && segment.syncing === 0) continue;
      segment.dirty = false;
      fdatasyncSync(segment.fd);
    }
    if (this.#dirDirty) fsyncSync(this.#dirFd);
    this.#dirDirty = false;
  }

  /** Segments in use, the one written to included: referenced ones keep their space. */
  get segmentCount(): number {
    return this.#segments.size;
  }

  get activeSegment(): number {
    return this.#active.n;
  }

  /** Closes every file (after syncDirtyNow). Retired segments not yet deleted go at the next start. */
  close(): void {
    // Deletions still waiting are left to the next start: another Spool may own the folder by then.
    this.#closed = true;
    for (const segment of [...this.#segments.values(), ...this.#unlinkable]) {
      segment.gone = true;
      closeWhenIdle(segment);
    }
    this.#segments.clear();
    this.#unlinkable = [];
    closeSync(this.#dirFd);
  }

  #rollOver(): void {
    const old = this.#active;
    this.#active = this.#create(old.n + 1);
    if (old.refs <= 0) this.#retire(old);
  }

  #create(n: number): Segment {
    const fd = openSync(join(this.#dir, `${n}.seg`), "wx+", 0o600);
    this.#onCreate(n);
    // The file must be found after a power loss before any 250 depends on it: synced with the bodies.
    this.#dirDirty = true;
    const segment: Segment = { n, fd, size: 0, refs: 0, dirty: false, syncing: 0, gone: false, fdOpen: true };
    this.#segments.set(n, segment);
    return segment;
  }

  #retire(segment: Segment): void {
    segment.gone = true;
    this.#segments.delete(segment.n);
    this.#unlinkable.push(segment);
    closeWhenIdle(segment);
  }

  #unlink(segment: Segment): void {
    if (this.#closed) return;
    try {
      unlinkSync(join(this.#dir, `${segment.n}.seg`));
    } catch {
      // Left in place, it is deleted at the next start (no row points into it).
    }
  }
}

/** Closes a segment's fd once, and only when no sync of it is in flight (the last one closes it then). */
function closeWhenIdle(segment: Segment): void {
  if (segment.syncing > 0 || !segment.fdOpen) return;
  segment.fdOpen = false;
  closeSync(segment.fd);
}
