/**
 * `phonefleet instances import|set|show|delete`: JSON Lines, JSON and CSV files imported all or
 * nothing (a bad record at line N names line N and its field, and nothing is stored), and state
 * changes the tenant API then shows.
 */
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { buildApp } from "../src/app.js";
import { openStore } from "../src/store/create-store.js";
import { cliJson, runCli, scratch } from "./helpers/cli.js";
import { makeTenant, testConfig } from "./helpers/fixtures.js";

const tmp = scratch();
const db = () => ["--db", tmp.db];
let token: string;

beforeAll(async () => {
  const store = await openStore(tmp.db);
  token = (await makeTenant(store, "acme")).adminToken;
  await store.close();
});
afterAll(() => tmp.dispose());

function file(name: string, text: string): string {
  const path = join(tmp.dir, name);
  writeFileSync(path, text);
  return path;
}

const record = (n: number, extra: Record<string, unknown> = {}) => ({
  instance_name: `phone-${n}`,
  region: "cn-north-4",
  instance_sku: "Standard edition | 4 vCPUs | 8 GB",
  project_name: "acme-p0",
  pool_name: "phones",
  ...extra,
});
const jsonl = (records: unknown[]) => records.map((r) => JSON.stringify(r)).join("\n");

async function instanceCount(): Promise<number> {
  const tenant = await cliJson<{ instances_by_running_status: Record<string, number> }>([
    ...db(),
    "tenants",
    "show",
    "acme",
  ]);
  return Object.values(tenant.instances_by_running_status).reduce((a, b) => a + b, 0);
}

async function pools(): Promise<string[]> {
  const list = await cliJson<{ name: string }[]>([...db(), "pools", "list", "--tenant", "acme"]);
  return list.map((p) => p.name);
}

describe("instances import", () => {
  it("imports JSON Lines, creating a pool named with its scene tag", async () => {
    const path = file(
      "fleet.jsonl",
      `${jsonl([
        record(1, { instance_id: "Jsonl001", running_status: 2 }),
        record(2, { pool_name: "gaming", pool_scene_tag: "CLOUD_APP" }),
        record(3),
      ])}\n`,
    );
    const result = await runCli([...db(), "instances", "import", path, "--tenant", "acme"]);
    expect(result).toMatchObject({ code: 0, stdout: "imported 3 instances\n", stderr: "" });
    expect(await instanceCount()).toBe(3);
    expect(await pools()).toContain("gaming");
    expect(await cliJson([...db(), "instances", "show", "Jsonl001"])).toMatchObject({
      instance_name: "phone-1",
      running_status: 2,
      region_name_en: "CN North-Beijing4",
    });
  });

  it("imports a JSON array (--json prints the count)", async () => {
    const path = file(
      "fleet.json",
      JSON.stringify([record(4), record(5, { project_name: "acme-p1" })]),
    );
    expect(await cliJson([...db(), "instances", "import", path, "--tenant", "acme"])).toEqual({
      created: 2,
    });
    expect(await instanceCount()).toBe(5);
  });

  it("imports CSV with a header row; numbers become codes, empty cells are not given", async () => {
    const path = file(
      "fleet.csv",
      [
        "instance_id,instance_name,region,instance_sku,project_name,pool_name,running_status,assign_user",
        "Csv00001,csv-1,cn-east-3,sku,acme-p0,phones,5,user-7",
        "Csv00002,csv-2,cn-east-3,sku,acme-p1,apps,,",
      ].join("\n"),
    );
    const result = await runCli([...db(), "instances", "import", path, "--tenant", "acme"]);
    expect(result).toMatchObject({ code: 0, stdout: "imported 2 instances\n" });
    expect(await cliJson([...db(), "instances", "show", "Csv00001"])).toMatchObject({
      running_status: 5,
      assign_user: "user-7",
    });
    expect(await cliJson([...db(), "instances", "show", "Csv00002"])).toMatchObject({
      running_status: 0,
      assign_user: "",
      scene_tag: "CLOUD_APP",
    });
    expect(await instanceCount()).toBe(7);
  });

  const bad: [string, string, RegExp][] = [
    [
      // 1,501 good records (a full batch reaches the store first), then a bad one at line 1502.
      "late.jsonl",
      `${jsonl([
        record(0, { pool_name: "never", pool_scene_tag: "CLOUD_PHONE" }),
        ...Array.from({ length: 1500 }, (_, i) => record(100 + i)),
        record(9999, { running_status: 9 }),
      ])}\n`,
      /^error: line 1502: .*running_status must be one of 0, 1, 2, 3, 4, 5$/,
    ],
    [
      "broken.jsonl",
      `${jsonl([record(1)])}\n{"instance_name": \n`,
      /^error: line 2: not valid JSON$/,
    ],
    [
      "unknown.jsonl",
      jsonl([record(1), record(2, { colour: "red" })]),
      /^error: line 2: .*unknown field "colour"$/,
    ],
    [
      "bad.json",
      JSON.stringify([record(1), record(2), record(3, { pool_name: "nowhere" })]),
      /^error: index 2: pool_name: no pool "nowhere"/,
    ],
    [
      "bad.csv",
      [
        "instance_name,region,instance_sku,project_name,pool_name,frozen_status",
        "a,cn-north-4,sku,acme-p0,phones,0",
        "b,cn-north-4,sku,acme-p0,phones,1",
        "c,cn-north-4,sku,acme-p0,phones,7",
      ].join("\n"),
      /^error: line 4: .*frozen_status must be one of 0, 1$/,
    ],
    [
      "duplicate.jsonl",
      jsonl([record(1), record(2, { instance_id: "Jsonl001" })]),
      /^error: line 2: .*Jsonl001.* already exists$/,
    ],
  ];

  it.each(bad)(
    "%s: one line naming the record and field, nothing stored",
    async (name, text, message) => {
      const before = await instanceCount();
      const poolsBefore = await pools();
      const result = await runCli([
        ...db(),
        "instances",
        "import",
        file(name, text),
        "--tenant",
        "acme",
      ]);
      expect(result.stdout).toBe("");
      expect(result.stderr.trimEnd().split("\n")).toHaveLength(1);
      expect(result.stderr.trimEnd()).toMatch(message);
      expect(result.code).toBe(1);
      expect(await instanceCount()).toBe(before);
      expect(await pools()).toEqual(poolsBefore);
    },
  );
});

describe("instances set / show / delete", () => {
  it("changes state that the tenant API then shows", async () => {
    const changed = await cliJson([
      ...db(),
      "instances",
      "set",
      "Jsonl001",
      "--running-status",
      "1",
      "--frozen-status",
      "1",
      "--login-status",
      "1",
      "--assign-user",
      "1008600000097131912",
      "--backup-status",
      "2",
      "--backup-time",
      "2025-01-02 03:04:05",
      "--instance-name",
      "renamed",
    ]);
    expect(changed).toMatchObject({
      instance_id: "Jsonl001",
      instance_name: "renamed",
      running_status: 1,
      frozen_status: 1,
      backup_time: "2025-01-02 03:04:05",
    });

    const store = await openStore(tmp.db);
    const app = await buildApp({ config: testConfig(), store });
    try {
      const res = await app.inject({
        url: "/v1/instances/batch-query?page_no=1&page_size=10&instance_id=Jsonl001",
        headers: { "x-auth-token": token },
      });
      expect(res.json().data.result[0]).toMatchObject({
        instance_name: "renamed",
        running_status: 1,
        frozen_status: 1,
        login_status: 1,
        assign_status: 1,
        assign_user: "1008600000097131912",
        backup_status: 2,
        backup_time: "2025-01-02 03:04:05",
      });
    } finally {
      await app.close();
      await store.close();
    }

    const unassigned = await cliJson([...db(), "instances", "set", "Jsonl001", "--unassign"]);
    expect(unassigned).toMatchObject({ assign_user: "" });
    const plain = await runCli([...db(), "instances", "show", "Jsonl001"]);
    expect(plain.stdout).toMatch(/^instance_id\s+Jsonl001$/m);
  });

  it("delete releases the instance", async () => {
    const before = await instanceCount();
    const result = await runCli([...db(), "instances", "delete", "Csv00002"]);
    expect(result).toMatchObject({ code: 0, stdout: "deleted instance Csv00002\n" });
    expect(await instanceCount()).toBe(before - 1);
    expect((await runCli([...db(), "instances", "show", "Csv00002"])).code).toBe(1);
  });
});
