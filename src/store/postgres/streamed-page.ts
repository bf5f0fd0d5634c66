/**
 * An encoded page put together row by row, as its rows arrive from PostgreSQL: each row's
 * JSON (pageStatement's `body`), as the UTF-8 bytes PostgreSQL sent, is copied into a lent slot
 * of the FramePool the moment its DataRow message is parsed, so no row outlives its message
 * and no row is ever a JavaScript string (page-reader.ts hands over the bytes). Kept until the
 * statement completes, the 100 rows of a page survived the young generation's collections and
 * were copied, promoted and copied again: the collector was 40% of the server's main thread on
 * page 1 of the 1M tenant.
 */
import type { EncodedPage } from "../../instances/model.js";
import type { FramePool } from "../frame-pool.js";

const COMMA = 0x2c;

export class StreamedPage {
  private total = 0;
  /** The slot written into; -1 before the first row, or once the page outgrew it. */
  private slot = -1;
  private into: Buffer | undefined;
  private length = 0;

  constructor(private readonly frames: FramePool) {}

  /** A row of pageStatement(…, encoded): its total, and its body (null when the page is empty). */
  add(total: number, body: Uint8Array | null): void {
    this.total = total;
    if (body === null) return;
    const need = this.length + 1 + body.length;
    if (!this.into) {
      this.slot = need <= this.frames.capacity ? this.frames.take() : -1;
      // Without a slot, memory of its own of a slot's size (or the row's, if larger).
      this.into =
        this.slot < 0
          ? Buffer.allocUnsafe(Math.max(need, this.frames.capacity))
          : this.frames.rows(this.slot);
    } else if (need > this.into.length) {
      const grown = Buffer.allocUnsafe(Math.max(need, 2 * this.into.length));
      this.into.copy(grown, 0, 0, this.length);
      this.frames.giveBack(this.slot);
      this.slot = -1;
      this.into = grown;
    }
    if (this.length > 0) this.into[this.length++] = COMMA;
    this.into.set(body, this.length);
    this.length += body.length;
  }

  /** The page, lent from its slot where it stayed in one. */
  finish(): EncodedPage {
    if (!this.into) return { total: this.total, json: [] };
    if (this.slot < 0) return { total: this.total, json: [this.into.subarray(0, this.length)] };
    return this.frames.lend(this.slot, this.total, this.length);
  }

  /** Gives the slot back when the statement failed half way. */
  discard(): void {
    this.frames.giveBack(this.slot);
    this.slot = -1;
    this.into = undefined;
  }
}
