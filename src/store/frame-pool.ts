/**
 * Memory for batch-query pages, allocated once and lent page by page (PageFrame): a page read
 * into a slot of it allocates nothing, and the answer's envelope is written around its rows in
 * place (src/http/page-json.ts). A 60 KB page in memory of its own per request made V8 collect
 * its whole heap several times a second for the external memory alone (issue 5).
 *
 * Slots are taken by the code that fills them and handed back by the frame's release(), once
 * the answer is written. When every slot is lent, take() says so and the page comes in memory
 * of its own, as before.
 */
import type { EncodedPage } from "../instances/model.js";

/** Bytes left free before a page's rows for the answer's head, and after them for its tail. */
export const HEAD_ROOM = 64;
const TAIL_ROOM = 512;

/**
 * Where the rows of slot `slot` go in `memory` (slots of `slotBytes`): from HEAD_ROOM up to
 * TAIL_ROOM before the slot's end. The one layout, for the pool and the threads that fill it.
 */
export function slotRows(
  memory: ArrayBuffer | SharedArrayBuffer,
  slotBytes: number,
  slot: number,
): Buffer {
  return Buffer.from(memory, slot * slotBytes + HEAD_ROOM, rowsCapacity(slotBytes));
}

function rowsCapacity(slotBytes: number): number {
  return slotBytes - HEAD_ROOM - TAIL_ROOM;
}

export class FramePool {
  /** The slots, one after another; shared memory when threads fill them. */
  readonly memory: ArrayBuffer | SharedArrayBuffer;
  /** The most rows' bytes a slot holds. */
  readonly capacity: number;
  private readonly free: number[];

  /**
   * @param slotBytes 128 KB by default: a page of 100 rows of 1.2 KB (a 1M-tenant page is ~60 KB)
   * @param count 64 by default: every request in hand at 32 connections, and then some
   */
  constructor(
    shared: boolean,
    readonly slotBytes = 128 * 1024,
    count = 64,
  ) {
    this.memory = shared
      ? new SharedArrayBuffer(slotBytes * count)
      : new ArrayBuffer(slotBytes * count);
    this.capacity = rowsCapacity(slotBytes);
    this.free = Array.from({ length: count }, (_, n) => n);
  }

  /** A free slot, now taken; -1 when every slot is lent. */
  take(): number {
    return this.free.pop() ?? -1;
  }

  /** Hands back a slot that was taken but not lent (-1 is ignored). */
  giveBack(slot: number): void {
    if (slot >= 0) this.free.push(slot);
  }

  /** Where a slot's rows go: `capacity` bytes from HEAD_ROOM. */
  rows(slot: number): Buffer {
    return slotRows(this.memory, this.slotBytes, slot);
  }

  /** The page whose `length` bytes of rows are in `slot`, lent until its frame is released. */
  lend(slot: number, total: number, length: number): EncodedPage {
    const bytes = Buffer.from(this.memory, slot * this.slotBytes, this.slotBytes);
    let lent = true;
    const release = () => {
      if (!lent) return;
      lent = false;
      this.giveBack(slot);
    };
    const [start, end] = [HEAD_ROOM, HEAD_ROOM + length];
    return { total, json: [bytes.subarray(start, end)], frame: { bytes, start, end, release } };
  }
}
