/**
 * A reader thread of the SQLite store (./reader-pool.ts): its own read-only connection to the
 * database file, answering encoded batch-query pages while the main thread serves HTTP.
 */
import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";
import { parentPort, workerData } from "node:worker_threads";
import Database from "better-sqlite3";
import type { EncodedPage } from "../../instances/model.js";
import { slotRows } from "../frame-pool.js";
import { InstanceQuery } from "./instance-query.js";
import type { ReaderData, ReaderPage, ReaderReply, ReaderRequest } from "./reader-pool.js";

const { filename, slots, slotBytes } = workerData as ReaderData;
const db = new Database(filename, { readonly: true, fileMustExist: true });
db.pragma("busy_timeout = 5000");
// 2 MB of page cache rather than 16: the OS caches the file for every thread alike, and each
// reader's own cache counts in the process's RSS (issue 5: ≤ 200 MB).
db.pragma("cache_size = -2000");
const instances = new InstanceQuery(db);
const port = parentPort;

/**
 * Every page leaves behind the ~60 KB buffer better-sqlite3 copied it into, memory V8 allocated
 * outside its heap. The reader's young generation fills slowly (a page makes little other
 * garbage), so those buffers piled up between collections and grew each reader's malloc arena to
 * ~25 MB, near issue 5's 200 MB for the process. A young-generation collection every GC_EVERY
 * pages frees them: peak RSS over page 1, random pages and pool_scene_tag went 179–190 → 137–180
 * MB, at no CPU cost measurable against this machine's noise (docs/benchmarks.md, step 28).
 */
const GC_EVERY = 32;
setFlagsFromString("--expose-gc");
const collectYoung = runInNewContext("gc") as (options: { type: "minor" }) => void;
let pages = 0;
if (!port) throw new Error("reader-worker.ts runs as a worker thread");

port.on("message", ({ id, visibility, query, slot }: ReaderRequest) => {
  let reply: ReaderReply;
  const transfer: ArrayBuffer[] = [];
  try {
    const page = instances.queryEncoded(visibility, query);
    reply = { id, page: page && (inSlot(page, slot) ?? owned(page, transfer)) };
  } catch (error) {
    const { message, code } = error as { message: string; code?: string };
    reply = { id, error: { message, ...(code === undefined ? {} : { code }) } };
  }
  port.postMessage(reply, transfer);
  if (++pages % GC_EVERY === 0) collectYoung({ type: "minor" });
});

/** The page's rows copied into its slot, where they fit. */
function inSlot(page: EncodedPage, slot: number): ReaderPage | undefined {
  if (slot < 0) return undefined;
  const rows = slotRows(slots, slotBytes, slot);
  const length = page.json.reduce((sum, part) => sum + part.length, 0);
  if (length > rows.length) return undefined;
  let at = 0;
  for (const part of page.json) {
    rows.set(part, at);
    at += part.length;
  }
  return { total: page.total, length };
}

/** The page's rows in buffers handed over to the main thread (transferred, not copied). */
function owned(page: EncodedPage, transfer: ArrayBuffer[]): ReaderPage {
  const json = page.json.map((part) => {
    // Handed over without a copy when the buffer owns its memory (not a slice of a pool).
    const own =
      part.byteOffset === 0 && part.byteLength === part.buffer.byteLength
        ? part
        : Uint8Array.prototype.slice.call(part);
    transfer.push(own.buffer as ArrayBuffer);
    return own;
  });
  return { total: page.total, json };
}

process.on("exit", () => db.close());
