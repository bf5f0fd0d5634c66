/**
 * The batch query's page statements, run through postgres.js on connections of their own
 * (ADR 0008). pg decodes every field of every DataRow into a JavaScript string; postgres.js in
 * raw mode hands over each field as a view of the bytes received, so a page's rows go from the
 * socket into their FramePool slot as bytes, never as strings. Measured on the 1M tenant's
 * page 1 with both drivers side by side: 244–274 µs of Node's CPU per statement instead of
 * 458–509 µs (docs/benchmarks.md, step P18).
 *
 * A set of connections per plan mode (PlanMode): `generic` sessions plan a prepared statement
 * once for every value, `custom` ones plan it for its own values every time, `auto` ones leave
 * the choice to PostgreSQL. Every statement is prepared, once per connection: postgres.js sends an unnamed statement with
 * parameters only after a round trip to describe it, which cost a name needle 15% of its
 * throughput.
 *
 * Bounded like pg's pool: PostgreSQL cancels a statement at statement_timeout (a session
 * setting), and a statement with no answer a second after that (a network that swallows
 * packets, or a request queued that long for a connection) fails here. Its connections are then
 * not serving: that set is closed and replaced by a fresh one.
 */
import postgres from "postgres";
import type { ReaderOptions } from "./connection.js";
import type { PageStatement, PlanMode } from "./instance-query.js";

type Sql = postgres.Sql<Record<string, unknown>>;
type Row = Record<string, unknown>;

export class PageReader {
  private readonly sets: Record<PlanMode, Sql>;
  private closed = false;

  constructor(
    private readonly options: Record<PlanMode, ReaderOptions>,
    private readonly timeoutMs: number,
  ) {
    this.sets = {
      generic: postgres(options.generic),
      custom: postgres(options.custom),
      auto: postgres(options.auto),
    };
  }

  /** The statement's rows, each as its fields' bytes (null for SQL NULL), to `onRow`. */
  async stream(
    statement: PageStatement,
    onRow: (fields: (Buffer | null)[]) => void,
  ): Promise<void> {
    await this.bounded(statement, (sql) =>
      sql
        .unsafe(statement.text, statement.values as never[], { prepare: true })
        .raw()
        .forEach(onRow),
    );
  }

  /** The statement's rows as objects, values parsed by type (int4 → number, bool → boolean). */
  async rows(statement: PageStatement): Promise<Row[]> {
    return this.bounded(statement, (sql) =>
      sql.unsafe<Row[]>(statement.text, statement.values as never[], { prepare: true }),
    );
  }

  async close(): Promise<void> {
    this.closed = true;
    await Promise.all(Object.values(this.sets).map((sql) => sql.end({ timeout: 5 })));
  }

  /** `run` on the statement's connections, failed if no answer comes within the bound. */
  private bounded<T>({ plan }: PageStatement, run: (sql: Sql) => PromiseLike<T>): Promise<T> {
    const sql = this.sets[plan];
    return new Promise<T>((resolve, reject) => {
      const timer = setTimeout(() => {
        reject(new Error(`PostgreSQL gave no answer to a page statement in ${this.timeoutMs} ms`));
        this.replace(plan, sql);
      }, this.timeoutMs);
      run(sql).then(
        (value) => {
          clearTimeout(timer);
          resolve(value);
        },
        (error: unknown) => {
          clearTimeout(timer);
          reject(error);
        },
      );
    });
  }

  /** Closes `sql` (its pending statements fail at once) and puts a fresh set in its place. */
  private replace(which: PlanMode, sql: Sql): void {
    if (this.closed || this.sets[which] !== sql) return; // already replaced
    this.sets[which] = postgres(this.options[which]);
    sql.end({ timeout: 0 }).catch(() => {});
  }
}
