/**
 * The batch query's hand-built body is byte for byte what Fastify's response schema serializer
 * writes for the same page (the route used to return the object and let Fastify serialize it):
 * random rows, including quotes, backslashes, control characters, lone surrogates, Chinese and
 * emoji.
 */
import fc from "fast-check";
import Fastify from "fastify";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { encodeRows, pageJson } from "../src/http/page-json.js";
import { BatchQueryResponse } from "../src/http/schemas.js";
import type { EncodedPage, InstancePage, WireInstance } from "../src/instances/model.js";

const text = fc.oneof(
  fc.string({ unit: "binary", maxLength: 40 }),
  fc.string({ unit: "grapheme", maxLength: 60 }),
  fc.constantFrom("", "华北-北京四", '"\\', "\u2028\u0000\u001f", "\ud800x", "😀"),
);
const code = fc.integer({ min: 0, max: 5 });
const row: fc.Arbitrary<WireInstance> = fc.record({
  instance_id: text,
  instance_name: text,
  region: text,
  instance_sku: text,
  frozen_status: code,
  running_status: code,
  login_status: code,
  assign_status: code,
  assign_user: text,
  billing_mode: text,
  project_id: text,
  project_name: text,
  phone_id: text,
  member_name: text,
  account_name: text,
  region_name: text,
  region_name_en: text,
  backup_status: code,
  backup_time: text,
  restore_status: code,
  restore_time: text,
});

describe("batch-query body", () => {
  const app = Fastify();
  let page: { page: InstancePage; pageNo: number; pageSize: number } | undefined;
  beforeAll(async () => {
    app.get("/", { schema: { response: { 200: BatchQueryResponse } } }, async () => {
      const { page: p, pageNo, pageSize } = page as NonNullable<typeof page>;
      const fields = { page_no: pageNo, page_size: pageSize, total_count: p.total };
      return { data: { result: p.rows, ...fields }, ...fields, error_code: "0", error_msg: "OK" };
    });
    await app.ready();
  });
  afterAll(() => app.close());

  it("equals Fastify's schema serialization, byte for byte", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(
          fc.oneof(
            row,
            // Rows whose keys come in another order or with non-integer numbers: the slow path.
            row.map(
              (r) => Object.fromEntries(Object.entries(r).reverse()) as unknown as WireInstance,
            ),
            row.map((r) => ({ ...r, running_status: r.running_status + 0.5 })),
          ),
          { maxLength: 60 },
        ),
        fc.nat(1_000_000),
        fc.integer({ min: 1, max: 100 }),
        fc.nat(10_000_000),
        async (rows, pageNo, pageSize, total) => {
          page = { page: { rows, total }, pageNo, pageSize };
          const expected = (await app.inject({ url: "/" })).rawPayload;
          expect(pageJson(page.page, pageNo, pageSize).equals(expected)).toBe(true);
        },
      ),
      { numRuns: 200 },
    );
  });

  it("writes a lent page's envelope around it in place, or copies it when there is no room", () => {
    fc.assert(
      fc.property(
        fc.array(row, { maxLength: 20 }),
        fc.nat(1_000_000),
        fc.integer({ min: 1, max: 100 }),
        fc.nat(10_000_000),
        fc.nat(64),
        fc.nat(300),
        (rows, pageNo, pageSize, total, headRoom, tailRoom) => {
          const json = Buffer.concat(encodeRows(rows));
          const bytes = Buffer.alloc(headRoom + json.length + tailRoom, 0x2a);
          json.copy(bytes, headRoom);
          const [start, end] = [headRoom, headRoom + json.length];
          const lent: EncodedPage = {
            total,
            json: [bytes.subarray(start, end)],
            frame: { bytes, start, end, release: () => {} },
          };
          const body = pageJson(lent, pageNo, pageSize);
          const owned = pageJson({ total, json: [Buffer.from(json)] }, pageNo, pageSize);
          expect(body.equals(owned)).toBe(true);
          // In place exactly when the envelope fits: the body is then a view of the frame.
          const fits = headRoom >= 19 && tailRoom >= owned.length - json.length - 19;
          expect(body.buffer === bytes.buffer).toBe(fits);
        },
      ),
      { numRuns: 300 },
    );
  });
});
