/**
 * Reader threads for the SQLite store: encoded batch-query pages are computed on worker threads,
 * each with its own read-only connection to the file (WAL lets readers run beside the writer),
 * so the main thread keeps serving HTTP while a page is read. On a machine with a spare core
 * this overlaps the two halves of an uncached request (issue 5); one process keeps one heap, one
 * set of caches and one RSS, where `serve --workers` would duplicate the whole server.
 *
 * Never stale: a reader's query runs in its own read transaction, begun after the request was
 * handed over, so it sees every write committed before (the same guarantee as the main
 * connection). A reader that dies fails only the requests it held; the pool then stops handing
 * it work and the store answers on its own connection.
 */
import { fileURLToPath } from "node:url";
import { Worker } from "node:worker_threads";
import type { BatchQuery, EncodedPage, Visibility } from "../../instances/model.js";
import { FramePool } from "../frame-pool.js";
import type { StoreLog } from "../types.js";

export interface ReaderRequest {
  id: number;
  visibility: Visibility;
  query: BatchQuery;
  /** The slot to write the page's rows into (FramePool.rows); -1 for a buffer of its own. */
  slot: number;
}

/** The page: its rows' bytes in the request's slot (`length`), or in buffers (`json`). */
export type ReaderPage = { total: number } & (
  | { length: number; json?: undefined }
  | { json: Uint8Array[]; length?: undefined }
);

export type ReaderReply =
  | { id: number; page: ReaderPage | undefined; error?: undefined }
  | { id: number; error: { message: string; code?: string }; page?: undefined };

/** What each reader thread is started with. */
export interface ReaderData {
  filename: string;
  /** The slots' memory and size (FramePool.memory, FramePool.slotBytes). */
  slots: SharedArrayBuffer;
  slotBytes: number;
}

interface Pending {
  slot: number;
  resolve(page: EncodedPage | undefined): void;
  reject(error: Error): void;
}

interface Reader {
  worker: Worker;
  pending: Map<number, Pending>;
}

/**
 * A reader thread: the compiled worker module beside this file, or, when this file runs as
 * TypeScript (the test suite, under tsx or vitest), a bootstrap that registers tsx first.
 */
function startWorker(workerData: ReaderData): Worker {
  // A reader holds one page at a time: a small young generation keeps its heap (and the
  // process's RSS) small, at no measured cost in throughput.
  const resourceLimits = { maxYoungGenerationSizeMb: 4 };
  if (!import.meta.url.endsWith(".ts")) {
    return new Worker(new URL("./reader-worker.js", import.meta.url), {
      workerData,
      resourceLimits,
    });
  }
  const script = fileURLToPath(new URL("./reader-worker.ts", import.meta.url));
  const bootstrap = `require("tsx/cjs/api").register(); require(${JSON.stringify(script)});`;
  return new Worker(bootstrap, { eval: true, workerData, resourceLimits });
}

export class ReaderPool {
  private readonly readers: Reader[] = [];
  private nextId = 1;
  private turn = 0;
  private readonly frames = new FramePool(true);

  private constructor(private readonly log?: StoreLog) {}

  /** `count` readers of `filename`, each ready (its connection open) when this resolves. */
  static async start(filename: string, count: number, log?: StoreLog): Promise<ReaderPool> {
    const pool = new ReaderPool(log);
    try {
      await Promise.all(
        Array.from({ length: count }, async () => {
          const { memory, slotBytes } = pool.frames;
          const worker = startWorker({ filename, slots: memory as SharedArrayBuffer, slotBytes });
          const reader: Reader = { worker, pending: new Map() };
          pool.readers.push(reader);
          pool.watch(reader);
          await new Promise<void>((resolve, reject) => {
            worker.once("online", resolve);
            worker.once("error", reject);
          });
        }),
      );
    } catch (error) {
      await pool.close();
      throw error;
    }
    return pool;
  }

  /** How many readers are alive to take work. */
  get size(): number {
    return this.readers.length;
  }

  /** The live threads (for monitoring, and for tests that stop one). */
  threads(): Worker[] {
    return this.readers.map((reader) => reader.worker);
  }

  queryEncoded(visibility: Visibility, query: BatchQuery): Promise<EncodedPage | undefined> {
    const reader = this.pick();
    const id = this.nextId++;
    const slot = this.frames.take();
    return new Promise((resolve, reject) => {
      reader.pending.set(id, { slot, resolve, reject });
      reader.worker.postMessage({ id, visibility, query, slot } satisfies ReaderRequest);
    });
  }

  async close(): Promise<void> {
    const readers = this.readers.splice(0);
    for (const reader of readers) fail(reader, new Error("the SQLite store is closing"));
    await Promise.all(readers.map((reader) => reader.worker.terminate()));
  }

  /** The reader with the fewest requests in hand (round robin among equals). */
  private pick(): Reader {
    let best = this.readers[this.turn++ % this.readers.length] as Reader;
    for (const reader of this.readers) {
      if (reader.pending.size < best.pending.size) best = reader;
    }
    return best;
  }

  private watch(reader: Reader): void {
    reader.worker.on("message", (reply: ReaderReply) => {
      const pending = reader.pending.get(reply.id);
      if (!pending) return;
      reader.pending.delete(reply.id);
      const page = reply.page;
      if (page?.length === undefined) this.frames.giveBack(pending.slot);
      if (reply.error) {
        pending.reject(Object.assign(new Error(reply.error.message), { code: reply.error.code }));
      } else if (!page) {
        pending.resolve(undefined);
      } else if (page.length === undefined) {
        const json = page.json.map((part) =>
          Buffer.from(part.buffer, part.byteOffset, part.byteLength),
        );
        pending.resolve({ total: page.total, json });
      } else {
        pending.resolve(this.frames.lend(pending.slot, page.total, page.length));
      }
    });
    const lost = (why: Error) => {
      const index = this.readers.indexOf(reader);
      if (index < 0) return;
      this.readers.splice(index, 1);
      this.log?.error({ err: why }, "an SQLite reader thread stopped; reading on the main thread");
      fail(reader, why);
    };
    reader.worker.on("error", lost);
    reader.worker.on("exit", (code) => lost(new Error(`SQLite reader thread exited (${code})`)));
  }
}

/**
 * Fails every request a reader holds. Their slots are not given back: a reader that errors
 * out or is being terminated may still be writing into one.
 */
function fail(reader: Reader, why: Error): void {
  for (const pending of reader.pending.values()) pending.reject(why);
  reader.pending.clear();
}
