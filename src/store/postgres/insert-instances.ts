/**
 * One import batch → one INSERT: the batch travels as one array per column and unnest() turns
 * them back into rows, so 1,000 instances cost one round trip and one statement plan.
 *
 * Conflicts behave like the SQLite store's row-by-row inserts: ON CONFLICT DO NOTHING skips the
 * rows whose id is taken (by an earlier batch, an earlier row of this batch, or another import),
 * and the rows not returned are examined in source order: a generated id draws again, a given id
 * is a 409 naming the record's position.
 */
import type pg from "pg";
import { conflict } from "../../errors.js";
import { newInstanceId } from "../../ids.js";
import { foldName } from "../../instances/model.js";
import { type ImportBatch, INSTANCE_COLUMNS } from "../types.js";

type Column = (typeof INSTANCE_COLUMNS)[number];
type Row = Record<Column, string | number>;

const INTEGER_COLUMNS = new Set<Column>([
  "frozen_status",
  "running_status",
  "login_status",
  "backup_status",
  "restore_status",
]);

const INSERT_SQL = `INSERT INTO instances (${INSTANCE_COLUMNS.join(", ")})
  SELECT * FROM unnest(${INSTANCE_COLUMNS.map(
    (c, i) => `$${i + 1}::${INTEGER_COLUMNS.has(c) ? "integer" : "text"}[]`,
  ).join(", ")})
  ON CONFLICT DO NOTHING
  RETURNING instance_id`;

/** Generated ids are random (62^8); on the rare collision, draw again (at most this often). */
const MAX_DRAWS = 10;

export async function insertInstances(client: pg.PoolClient, batch: ImportBatch): Promise<void> {
  const rows: Row[] = batch.instances.map((instance, index) => ({
    ...instance,
    instance_id: batch.generated[index] ? newInstanceId() : instance.instance_id,
    name_folded: foldName(instance.instance_name),
  }));
  let pending = rows.map((_, index) => index);
  for (let draw = 0; pending.length > 0; draw++) {
    const order = inCreationOrder(pending, rows);
    const { rows: inserted } = await client.query<{ instance_id: string }>({
      name: "pf_insert_instances",
      text: INSERT_SQL,
      values: INSTANCE_COLUMNS.map((column) => order.map((index) => rows[index]?.[column])),
    });
    const refused = notInserted(
      pending,
      (index) => rows[index]?.instance_id as string,
      inserted.map((r) => r.instance_id),
    );
    const given = refused.find((index) => !batch.generated[index]);
    if (given !== undefined) {
      throw conflict(
        `${batch.positions[given]}: instance_id ${rows[given]?.instance_id} already exists`,
      );
    }
    if (refused.length > 0 && draw >= MAX_DRAWS) {
      throw new Error(`no free instance id after ${MAX_DRAWS} draws`);
    }
    for (const index of refused) (rows[index] as Row).instance_id = newInstanceId();
    pending = refused;
  }
}

/**
 * The rows `pending` (source order) in the order to insert them: by creation time and id, so
 * that rows created together share heap pages, as a page of the batch query reads them (a page
 * of a fleet imported out of creation order touched ~100 heap pages, one per row). Source order
 * when two of them share an id: notInserted takes the first of the two in source order to be
 * the one stored, which holds only if it was inserted first. Otherwise which rows are refused,
 * and which one an error names, does not depend on the order (notInserted examines them in
 * source order).
 */
function inCreationOrder(pending: number[], rows: Row[]): number[] {
  const ids = new Set(pending.map((index) => rows[index]?.instance_id));
  if (ids.size !== pending.length) return pending;
  const key = (index: number) => rows[index] as Row;
  return [...pending].sort((a, b) => {
    const [x, y] = [key(a), key(b)];
    if (x.created_at !== y.created_at) return x.created_at < y.created_at ? -1 : 1;
    return x.instance_id < y.instance_id ? -1 : x.instance_id > y.instance_id ? 1 : 0;
  });
}

/**
 * The rows (in source order) whose id is missing from what was inserted. Rows are inserted in
 * array order, so of two rows with one id the first is the one stored.
 */
function notInserted(
  pending: number[],
  idOf: (index: number) => string,
  inserted: string[],
): number[] {
  const stored = new Map<string, number>();
  for (const id of inserted) stored.set(id, (stored.get(id) ?? 0) + 1);
  return pending.filter((index) => {
    const left = stored.get(idOf(index)) ?? 0;
    if (left === 0) return true;
    stored.set(idOf(index), left - 1);
    return false;
  });
}
