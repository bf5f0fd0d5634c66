/**
 * Property tests of the batch query (fast-check):
 * 1. any query string — known and junk keys, unicode, %-encodings good and broken, huge numbers,
 *    empty and repeated values — gets either an exact 200 page or an exact 4xx error, never a 5xx;
 * 2. over random fleets and random valid queries, every store answers exactly what a plain
 *    in-memory filter/sort/page (test/helpers/reference.ts) answers, permissions included.
 */
import fc from "fast-check";
import type { FastifyInstance, LightMyRequestResponse } from "fastify";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { buildApp } from "../src/app.js";
import { createUser, issueToken } from "../src/operator/users.js";
import { batchQuery, expectError, expectPage } from "./helpers/api.js";
import { buildInstance, seedCatalog } from "./helpers/catalog.js";
import { addInstances, makeTenant, testConfig, tokenFor } from "./helpers/fixtures.js";
import { type RefInstance, type RefQuery, referencePage, toParams } from "./helpers/reference.js";
import { STORES } from "./helpers/stores.js";

const KNOWN = [
  "x-request-id",
  "page_no",
  "page_size",
  "instance_id",
  "instance_name",
  "query_start_time",
  "query_end_time",
  "pool_scene_tag",
  "poolSceneTag",
  "pool_name",
  "order",
  "order_by",
];

const CLIENT_ERRORS = [
  "KOOPHONE.API.0002",
  "KOOPHONE.API.1000",
  "KOOPHONE.API.1001",
  "KOOPHONE.API.5002",
  "KOOPHONE.API.5004",
];

/** `arbitrary` one time in `oneIn`, else null (fc.option's freq is the other way round). */
function sometimes<T>(arbitrary: fc.Arbitrary<T>, oneIn: number): fc.Arbitrary<T | null> {
  return fc.oneof(
    { weight: oneIn - 1, arbitrary: fc.constant(null) },
    { weight: 1, arbitrary: arbitrary },
  );
}

/** Percent-encodes every byte of the UTF-8 form except unreserved characters. */
function percentEncode(text: string): string {
  let out = "";
  for (const byte of Buffer.from(text, "utf8")) {
    const c = String.fromCharCode(byte);
    out += /[A-Za-z0-9_.~-]/.test(c) ? c : `%${byte.toString(16).toUpperCase().padStart(2, "0")}`;
  }
  return out;
}

const key = fc.oneof(
  { weight: 6, arbitrary: fc.constantFrom(...KNOWN) },
  {
    weight: 2,
    arbitrary: fc.constantFrom(
      "__proto__",
      "constructor",
      "toString",
      "hasOwnProperty",
      "page_no[]",
      "PAGE_NO",
      "page_no ",
      "",
      "callback",
    ),
  },
  { weight: 1, arbitrary: fc.string({ unit: "binary", maxLength: 8 }) },
);

const value = fc.oneof(
  {
    weight: 4,
    arbitrary: fc.constantFrom(
      "",
      "1",
      "0",
      "007",
      "-1",
      "+1",
      "1.5",
      "1e3",
      "0x10",
      "100",
      "101",
      "1000000000",
      "1000000001",
      "CLOUD_APP",
      "CLOUD_PHONE",
      "asc",
      "desc",
      "create_time",
      "instance_name",
      "instance_id",
      "phones",
      "2024-03-01 10:00:00",
      "2023-02-30 10:00:00",
      "2024-02-29 00:00:00",
      "2023-08-15T14:30:45Z",
      "2023-08-15 24:00:00",
      "%",
      "_",
      "\\",
      "a".repeat(129),
    ),
  },
  { weight: 1, arbitrary: fc.bigInt({ min: -(10n ** 40n), max: 10n ** 40n }).map(String) },
  { weight: 1, arbitrary: fc.double().map(String) },
  { weight: 2, arbitrary: fc.string({ unit: "binary", maxLength: 70 }) },
  { weight: 1, arbitrary: fc.string({ unit: "grapheme", maxLength: 10 }) },
  { weight: 1, arbitrary: fc.string({ maxLength: 140 }) },
);

/** Broken or meaningful percent and separator fragments, pasted in raw. */
const garbage = fc.constantFrom(
  "%",
  "%Z",
  "%ZZ",
  "%E0%A4",
  "%00",
  "%0A",
  "%0D%0A",
  "%C0%AF",
  "%FF",
  "%2",
  "+",
  "&&",
  "=",
  "==",
  "%26",
  "%3D",
  "%25",
  "%u0041",
  "%%",
);

const pair = fc
  .record({
    key,
    value,
    plusForSpace: fc.boolean(),
    keyGarbage: sometimes(garbage, 8),
    valueGarbage: sometimes(garbage, 4),
    noEquals: fc.boolean(),
  })
  .map(({ key: k, value: v, plusForSpace, keyGarbage, valueGarbage, noEquals }) => {
    const name = percentEncode(k) + (keyGarbage ?? "");
    let text = percentEncode(v) + (valueGarbage ?? "");
    if (plusForSpace) text = text.replaceAll("%20", "+");
    if (noEquals && v === "") return name;
    return `${name}=${text}`;
  });

/** A known parameter with a value it accepts, or an unknown one: requests that should pass. */
const PLAUSIBLE: Record<string, string[]> = {
  "x-request-id": ["req-1", "a:b.c_d-e"],
  instance_id: ["fzAAAAAA", "zzzzzzzz"],
  instance_name: ["cctest", "%", "_", "\\", "ünï", "Done"],
  query_start_time: ["2024-01-01 00:00:00", "2024-02-29 12:00:00"],
  query_end_time: ["2024-06-15 08:30:00", "2025-01-01 00:00:00"],
  pool_scene_tag: ["CLOUD_APP", "CLOUD_PHONE"],
  poolSceneTag: ["CLOUD_PHONE"],
  pool_name: ["apps", "phones", "edge"],
  order: ["asc", "desc"],
  order_by: ["create_time", "instance_name", "instance_id"],
  callback: ["x"],
  foo: ["", "bar"],
};
const plausiblePair = fc
  .constantFrom(...Object.keys(PLAUSIBLE))
  .chain((k) => fc.constantFrom(...(PLAUSIBLE[k] ?? [""])).map((v) => [k, v] as const))
  .map(([k, v]) => `${percentEncode(k)}=${percentEncode(v)}`);

const queryString = fc
  .record({
    pairs: fc.array(
      fc.oneof({ weight: 1, arbitrary: pair }, { weight: 4, arbitrary: plausiblePair }),
      { maxLength: 6 },
    ),
    // Mostly start from a valid page request, to reach the checks after page_no and page_size.
    paged: fc.oneof({ weight: 3, arbitrary: fc.constant(true) }, fc.constant(false)),
    // Repeating the first pair repeats a parameter (1000) unless it is an unknown one.
    repeat: fc.oneof({ weight: 3, arbitrary: fc.constant(false) }, fc.constant(true)),
  })
  .map(({ pairs, paged, repeat }) => {
    const all = paged ? ["page_no=1", "page_size=10", ...pairs] : pairs;
    if (repeat && all.length > 0) all.push(all[0] as string);
    return all.join("&");
  });

const requestIdHeader = sometimes(
  fc.oneof(fc.constantFrom("ok-id", "a".repeat(129), "bad id"), fc.string({ maxLength: 140 })),
  3,
);

/** A page or an error, each exactly as the spec writes it; never a 5xx. */
function expectWellFormed(res: LightMyRequestResponse, errorsAs200: boolean): void {
  expect(res.statusCode, res.body).toBeLessThan(500);
  const body = res.json() as Record<string, unknown>;
  if ("data" in body) {
    expectPage(res);
    return;
  }
  const code = String(body.error_code);
  expect(CLIENT_ERRORS, res.body).toContain(code);
  const error = expectError(res, errorsAs200 ? 200 : 400, code, { echoesInput: true });
  // One clear sentence: a user value is quoted, bounded, never dumped whole.
  expect(error.error_msg.length).toBeLessThan(400);
}

for (const factory of STORES) {
  describe(`property: any query string (${factory.name})`, () => {
    let ctx: Awaited<ReturnType<typeof factory.create>>;
    const apps: { name: string; app: FastifyInstance; errorsAs200: boolean }[] = [];
    const tokens: string[] = [];

    beforeAll(async () => {
      ctx = await factory.create();
      const catalog = await seedCatalog(ctx.store, "fuzz", "fz", 30);
      tokens.push(catalog.tenant.adminToken);
      tokens.push(
        await tokenFor(ctx.store, catalog.tenant.tenantId, {
          name: "member",
          role: "member",
          project_ids: [catalog.tenant.projects[0]?.project_id ?? ""],
        }),
      );
      tokens.push(
        await tokenFor(ctx.store, catalog.tenant.tenantId, { name: "none", role: "member" }),
      );
      for (const [name, overrides] of [
        ["default", {}],
        ["strict", { strict: true }],
        ["http200", { errorStatus: "http200" as const }],
      ] as const) {
        const app = await buildApp({ config: testConfig(overrides), store: ctx.store });
        apps.push({ name, app, errorsAs200: name === "http200" });
      }
    });
    afterAll(async () => {
      for (const { app } of apps) await app.close();
      await ctx?.dispose();
    });

    it("never answers 5xx, always an exact page or an exact error", async () => {
      await fc.assert(
        fc.asyncProperty(
          queryString,
          fc.nat({ max: 2 }),
          fc.nat({ max: 2 }),
          requestIdHeader,
          async (qs, appIndex, tokenIndex, requestId) => {
            const target = apps[appIndex];
            if (!target) throw new Error("no app");
            const headers: Record<string, string> = {};
            if (requestId !== null) headers["x-request-id"] = requestId;
            const res = await batchQuery(target.app, tokens[tokenIndex], qs, headers);
            expectWellFormed(res, target.errorsAs200);
          },
        ),
        { numRuns: 300 },
      );
    });
  });

  describe(`property: stores agree with the reference (${factory.name})`, () => {
    let ctx: Awaited<ReturnType<typeof factory.create>>;
    let app: FastifyInstance;
    let serial = 0;

    beforeAll(async () => {
      ctx = await factory.create();
      app = await buildApp({ config: testConfig(), store: ctx.store });
    });
    afterAll(async () => {
      await app?.close();
      await ctx?.dispose();
    });

    const TIMES = [
      "2023-12-31 23:59:59",
      "2024-01-01 00:00:00",
      "2024-01-01 00:00:01",
      "2024-02-29 12:00:00",
      "2024-07-01 08:00:00",
    ];
    /** Characters that trip case folding, wildcards and collation. */
    const nameChar = fc.constantFrom(..."aAbBzZ09 -%_\\üÜéÉßẞİıΣσς日本".split(""), "😀");
    const POOL_CHOICES = [
      { name: "apps", scene_tag: "CLOUD_APP" as const },
      { name: "phones", scene_tag: "CLOUD_PHONE" as const },
      { name: "edge", scene_tag: "CLOUD_PHONE" as const },
    ];

    const instanceSeed = fc.record({
      idPrefix: fc.stringMatching(/^[A-Za-z0-9]{4}$/),
      name: fc.oneof(
        fc.constantFrom(
          "CCTEST-00001",
          "cctest-00001",
          "100% Done",
          "a_b",
          "back\\slash",
          "Σίσυφος",
        ),
        fc.string({ unit: nameChar, minLength: 1, maxLength: 10 }),
      ),
      time: fc.constantFrom(...TIMES),
      pool: fc.nat({ max: 2 }),
      project: fc.nat({ max: 2 }),
      assigned: fc.boolean(),
    });

    const querySeed = fc.record({
      page_no: fc.oneof({ weight: 2, arbitrary: fc.constant(1) }, fc.integer({ min: 1, max: 4 })),
      page_size: fc.oneof(fc.integer({ min: 1, max: 8 }), fc.constant(100)),
      instanceId: sometimes(fc.oneof(fc.nat(), fc.constant(-1)), 5),
      name: sometimes(
        fc.oneof(
          {
            weight: 3,
            arbitrary: fc.record({
              of: fc.nat(),
              from: fc.nat(),
              len: fc.integer({ min: 1, max: 4 }),
              fold: fc.constantFrom("same", "upper", "lower"),
            }),
          },
          { weight: 1, arbitrary: fc.string({ unit: nameChar, minLength: 1, maxLength: 3 }) },
        ),
        2,
      ),
      start: sometimes(fc.constantFrom(...TIMES), 4),
      end: sometimes(fc.constantFrom(...TIMES), 4),
      scene: sometimes(fc.constantFrom("CLOUD_APP" as const, "CLOUD_PHONE" as const), 4),
      pool: sometimes(fc.constantFrom("apps", "phones", "edge", "nope"), 4),
      order: sometimes(fc.constantFrom("asc" as const, "desc" as const), 2),
      orderBy: fc.option(
        fc.constantFrom("create_time" as const, "instance_name" as const, "instance_id" as const),
      ),
    });

    const caller = fc.oneof(
      fc.constant({ role: "admin" as const, grants: [] as number[] }),
      fc.record({
        role: fc.constant("member" as const),
        grants: fc.uniqueArray(fc.nat({ max: 2 }), { maxLength: 3 }),
      }),
    );

    it("answers what a plain in-memory filter, sort and page answers", async () => {
      await fc.assert(
        fc.asyncProperty(
          fc.array(instanceSeed, { minLength: 1, maxLength: 25 }),
          fc.array(fc.tuple(querySeed, caller), { minLength: 1, maxLength: 6 }),
          async (seeds, queries) => {
            serial += 1;
            const tenant = await makeTenant(ctx.store, `ref-${serial}`, 3);
            const instances: RefInstance[] = seeds.map((seed, k) => {
              const pool = POOL_CHOICES[seed.pool] ?? POOL_CHOICES[0];
              const project = tenant.projects[seed.project];
              if (!pool || !project) throw new Error("seed out of range");
              return buildInstance({
                // Unique service-wide: a random prefix, then a serial number.
                instance_id: `${seed.idPrefix}${(serial * 100 + k).toString(36).padStart(4, "0")}`,
                instance_name: seed.name,
                project,
                pool_name: pool.name,
                scene_tag: pool.scene_tag,
                created_at: seed.time,
                extra: seed.assigned ? { assign_user: `user-${k}` } : {},
              });
            });
            if (instances.length > 0)
              await addInstances(
                ctx.store,
                tenant.tenantId,
                instances.map((i) => i.record),
              );

            for (const [seed, who] of queries) {
              const granted = who.grants.map((g) => tenant.projects[g]?.project_id ?? "");
              const token =
                who.role === "admin"
                  ? tenant.adminToken
                  : await memberToken(tenant.tenantId, granted);
              const q = resolveQuery(seed, instances);
              const res = await batchQuery(app, token, toParams(q));

              const target = instances.find((i) => i.wire.instance_id === q.instance_id);
              if (q.query_start_time && q.query_end_time && q.query_end_time < q.query_start_time) {
                expectError(res, 400, "KOOPHONE.API.5004");
              } else if (
                who.role === "member" &&
                (granted.length === 0 || (target && !granted.includes(target.wire.project_id)))
              ) {
                expectError(res, 400, "KOOPHONE.API.1001");
              } else {
                const body = expectPage(res);
                const expected = referencePage(
                  instances,
                  q,
                  who.role === "admin" ? undefined : granted,
                );
                expect({ total: body.total_count, rows: body.data.result }).toEqual(expected);
              }
            }
          },
        ),
        { numRuns: 30 },
      );
    });

    let members = 0;
    async function memberToken(tenantId: string, projectIds: string[]): Promise<string> {
      members += 1;
      const user = await createUser(ctx.store, tenantId, {
        name: `m${members}`,
        role: "member",
        project_ids: projectIds,
      });
      return (await issueToken(ctx.store, user.user_id, {}, 3600)).token;
    }
  });
}

type QuerySeed = {
  page_no: number;
  page_size: number;
  instanceId: number | null;
  name: { of: number; from: number; len: number; fold: "same" | "upper" | "lower" } | string | null;
  start: string | null;
  end: string | null;
  scene: "CLOUD_APP" | "CLOUD_PHONE" | null;
  pool: string | null;
  order: "asc" | "desc" | null;
  orderBy: "create_time" | "instance_name" | "instance_id" | null;
};

/** A random valid query over the fleet: ids and name pieces mostly taken from it. */
function resolveQuery(seed: QuerySeed, instances: RefInstance[]): RefQuery {
  const q: RefQuery = { page_no: seed.page_no, page_size: seed.page_size };
  if (seed.instanceId !== null) {
    q.instance_id =
      seed.instanceId < 0 || instances.length === 0
        ? "zzzzzzzz"
        : (instances[seed.instanceId % instances.length]?.wire.instance_id ?? "zzzzzzzz");
  }
  if (typeof seed.name === "string") q.instance_name = seed.name;
  else if (seed.name !== null && instances.length > 0) {
    const chars = [...(instances[seed.name.of % instances.length]?.wire.instance_name ?? "x")];
    const from = seed.name.from % chars.length;
    let piece = chars.slice(from, from + seed.name.len).join("");
    if (seed.name.fold === "upper") piece = piece.toUpperCase();
    if (seed.name.fold === "lower") piece = piece.toLowerCase();
    if (piece.length >= 1 && piece.length <= 64) q.instance_name = piece;
  }
  if (seed.start !== null) q.query_start_time = seed.start;
  if (seed.end !== null) q.query_end_time = seed.end;
  if (seed.scene !== null) q.pool_scene_tag = seed.scene;
  if (seed.pool !== null) q.pool_name = seed.pool;
  if (seed.order !== null) q.order = seed.order;
  if (seed.orderBy !== null) q.order_by = seed.orderBy;
  return q;
}
