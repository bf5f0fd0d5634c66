/** SQL for tests that write a SQLite store's file as another writer would (not through the store). */
import { INSTANCE_COLUMNS } from "../../src/store/types.js";

type Column = (typeof INSTANCE_COLUMNS)[number];

/**
 * An INSERT copying the instances that match `where`, with the columns in `set` given as SQL
 * expressions over the copied row; `instance_id` among them, so that each copy is a new row.
 */
export function copyInstances(
  where: string,
  set: Partial<Record<Column, string>> & { instance_id: string },
): string {
  return `INSERT INTO instances (${INSTANCE_COLUMNS.join(", ")})
    SELECT ${INSTANCE_COLUMNS.map((column) => set[column] ?? column).join(", ")}
    FROM instances WHERE ${where};`;
}
