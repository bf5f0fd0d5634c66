/**
 * The 200 body of the batch query as bytes, identical to what Fastify's response schema
 * serializer (fast-json-stringify over BatchQueryResponse) writes, built the way that costs
 * least: each row is stringified with JSON.stringify (which escapes strings exactly as
 * fast-json-stringify does) in schema field order, and the page is encoded to UTF-8 in slices
 * of a few rows, never as one large string (real region names are Chinese: turning one large
 * two-byte string into bytes cost several times the serialization itself, issue 5).
 * test/page-json.test.ts compares the bytes with Fastify's own serializer.
 */
import type { EncodedPage, InstancePage, WireInstance } from "../instances/model.js";
import { WireInstanceSchema } from "./schemas.js";

const SLICE = 25;

/** [field, `"field":` prefix, whether it is an integer], in the schema's (the page's) order. */
const FIELDS = Object.entries(WireInstanceSchema.properties).map(
  ([name, schema]) =>
    [
      name as keyof WireInstance,
      `"${name}":`,
      (schema as { type?: string }).type === "integer",
    ] as const,
);

function rowJson(row: WireInstance): string {
  let out = "{";
  for (let n = 0; n < FIELDS.length; n++) {
    const [name, prefix, integer] = FIELDS[n] as (typeof FIELDS)[number];
    const value = row[name];
    out +=
      (n === 0 ? "" : ",") +
      prefix +
      (integer ? `${Math.trunc(value as number)}` : JSON.stringify(value));
  }
  return `${out}}`;
}

/**
 * Whether JSON.stringify(row) already writes what the schema serializer would: exactly the
 * schema's fields, in its order, integers where it says integer, strings elsewhere. The stores
 * build rows that way; anything else takes the field-by-field path.
 */
function wireShaped(row: WireInstance): boolean {
  let n = 0;
  for (const key in row) {
    const field = FIELDS[n++];
    if (!field || field[0] !== key) return false;
    const value = row[key as keyof WireInstance];
    if (field[2] ? !Number.isInteger(value) : typeof value !== "string") return false;
  }
  return n === FIELDS.length;
}

const OPEN = Buffer.from('{"data":{"result":[');

/**
 * The answer's bytes. A page in a frame (PageFrame) gets its envelope written around its rows
 * in place, and the answer is a view of the frame: valid until the frame is released.
 */
export function pageJson(
  page: InstancePage | EncodedPage,
  pageNo: number,
  pageSize: number,
): Buffer {
  const fields = `"page_no":${pageNo},"page_size":${pageSize},"total_count":${page.total}`;
  const tail = `],${fields}},${fields},"error_code":"0","error_msg":"OK"}`;
  if ("json" in page && page.frame) {
    const { bytes, start, end } = page.frame;
    // The tail is ASCII: one byte per character.
    if (start >= OPEN.length && bytes.length - end >= tail.length) {
      OPEN.copy(bytes, start - OPEN.length);
      bytes.write(tail, end, "latin1");
      return bytes.subarray(start - OPEN.length, end + tail.length);
    }
  }
  const parts: Buffer[] = "json" in page ? [OPEN, ...page.json] : [OPEN, ...encodeRows(page.rows)];
  parts.push(Buffer.from(tail));
  return Buffer.concat(parts);
}

/** Rows as the text between the brackets of `data.result`, in slices of a few rows. */
export function encodeRows(rows: readonly WireInstance[]): Buffer[] {
  const parts: Buffer[] = [];
  const shaped = rows.every(wireShaped);
  for (let start = 0; start < rows.length; start += SLICE) {
    const end = Math.min(rows.length, start + SLICE);
    let text: string;
    if (shaped) {
      text = JSON.stringify(rows.slice(start, end)).slice(1, -1);
      if (start > 0) text = `,${text}`;
    } else {
      text = start === 0 ? "" : ",";
      for (let n = start; n < end; n++)
        text += (n === start ? "" : ",") + rowJson(rows[n] as WireInstance);
    }
    parts.push(Buffer.from(text));
  }
  return parts;
}
