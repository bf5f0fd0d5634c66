/**
 * A reader thread of the SQLite store (./reader-pool.ts): its own read-only connection to the
 * database file, answering encoded batch-query pages while the main thread serves HTTP.
 */
import { parentPort, workerData } from "node:worker_threads";
import Database from "better-sqlite3";
import { InstanceQuery } from "./instance-query.js";
import type { ReaderReply, ReaderRequest } from "./reader-pool.js";

const { filename } = workerData as { filename: string };
const db = new Database(filename, { readonly: true, fileMustExist: true });
db.pragma("busy_timeout = 5000");
// 2 MB of page cache rather than 16: the OS caches the file for every thread alike, and each
// reader's own cache counts in the process's RSS (issue 5: ≤ 200 MB).
db.pragma("cache_size = -2000");
const instances = new InstanceQuery(db);
const port = parentPort;
if (!port) throw new Error("reader-worker.ts runs as a worker thread");

port.on("message", ({ id, visibility, query }: ReaderRequest) => {
  let reply: ReaderReply;
  const transfer: ArrayBuffer[] = [];
  try {
    const page = instances.queryEncoded(visibility, query);
    const json = page?.json.map((part) => {
      // Handed over without a copy when the buffer owns its memory (not a slice of a pool).
      const owned =
        part.byteOffset === 0 && part.byteLength === part.buffer.byteLength
          ? part
          : Uint8Array.prototype.slice.call(part);
      transfer.push(owned.buffer as ArrayBuffer);
      return owned;
    });
    reply = { id, page: page && json ? { total: page.total, json } : undefined };
  } catch (error) {
    const { message, code } = error as { message: string; code?: string };
    reply = { id, error: { message, ...(code === undefined ? {} : { code }) } };
  }
  port.postMessage(reply, transfer);
});

process.on("exit", () => db.close());
