/**
 * The 200 body of the batch query as bytes, identical to what Fastify's response schema
 * serializer (fast-json-stringify over BatchQueryResponse) writes, built the way that costs
 * least: each row is stringified with JSON.stringify (which escapes strings exactly as
 * fast-json-stringify does) in schema field order, and the page is encoded to UTF-8 in slices
 * of a few rows, never as one large string (real region names are Chinese: turning one large
 * two-byte string into bytes cost several times the serialization itself, issue 5).
 * test/page-json.test.ts compares the bytes with Fastify's own serializer.
 */
import type { InstancePage, WireInstance } from "../instances/model.js";
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

export function pageJson(page: InstancePage, pageNo: number, pageSize: number): Buffer {
  const parts: Buffer[] = [Buffer.from('{"data":{"result":[')];
  for (let start = 0; start < page.rows.length; start += SLICE) {
    let text = start === 0 ? "" : ",";
    const end = Math.min(page.rows.length, start + SLICE);
    for (let n = start; n < end; n++)
      text += (n === start ? "" : ",") + rowJson(page.rows[n] as WireInstance);
    parts.push(Buffer.from(text));
  }
  const fields = `"page_no":${pageNo},"page_size":${pageSize},"total_count":${page.total}`;
  parts.push(Buffer.from(`],${fields}},${fields},"error_code":"0","error_msg":"OK"}`));
  return Buffer.concat(parts);
}
