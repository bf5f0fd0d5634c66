/**
 * What a command prints: with --json, the result as JSON (for scripts); otherwise a table or
 * `field  value` lines for people. Results go to stdout; notes for people go to stderr.
 */

export type Row = Record<string, unknown>;

export interface Output {
  readonly json: boolean;
  /** One result: JSON as is, or one `field  value` line per field. */
  record(value: Row): void;
  /** A list: a JSON array, or a table of the given columns. */
  list(rows: Row[], columns: string[]): void;
  /** A sentence for people (stdout, plain mode only); `json` is printed instead with --json. */
  done(sentence: string, json: Row): void;
  /** A note for people on stderr, never part of the result. */
  note(text: string): void;
}

export function output(json: boolean): Output {
  const out = (text: string) => process.stdout.write(`${text}\n`);
  return {
    json,
    record(value) {
      out(json ? JSON.stringify(value, null, 2) : fields(value));
    },
    list(rows, columns) {
      out(json ? JSON.stringify(rows, null, 2) : table(rows, columns));
    },
    done(sentence, value) {
      out(json ? JSON.stringify(value, null, 2) : sentence);
    },
    note(text) {
      if (!json) process.stderr.write(`${text}\n`);
    },
  };
}

export function fields(value: Row, indent = ""): string {
  const width = Math.max(...Object.keys(value).map((key) => key.length));
  return Object.entries(value)
    .map(([key, cell]) => {
      if (cell !== null && typeof cell === "object" && !Array.isArray(cell)) {
        const nested = fields(cell as Row, `${indent}  `);
        return `${indent}${key}${nested ? `\n${nested}` : "  (none)"}`;
      }
      return `${indent}${key.padEnd(width)}  ${text(cell)}`;
    })
    .join("\n");
}

export function table(rows: Row[], columns: string[]): string {
  if (rows.length === 0) return "(none)";
  const cells = rows.map((row) => columns.map((column) => text(row[column])));
  const widths = columns.map((column, i) =>
    Math.max(column.length, ...cells.map((line) => (line[i] ?? "").length)),
  );
  const line = (values: string[]) =>
    values
      .map((value, i) => value.padEnd(widths[i] ?? 0))
      .join("  ")
      .trimEnd();
  return [line(columns.map((c) => c.toUpperCase())), ...cells.map(line)].join("\n");
}

function text(value: unknown): string {
  if (value === null || value === undefined) return "-";
  if (Array.isArray(value)) return value.length === 0 ? "-" : value.join(",");
  if (value === "") return '""';
  return String(value);
}
