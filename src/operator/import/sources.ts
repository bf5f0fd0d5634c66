/**
 * Readers that turn a byte stream into import records one at a time, without holding the whole
 * input: JSON Lines, a JSON array, or CSV with a header row.
 */
import { createReadStream } from "node:fs";
import { extname } from "node:path";
import { createInterface } from "node:readline";
import type { Readable } from "node:stream";
import { parse as parseCsv } from "csv-parse";
import { ApiError, badInput } from "../../errors.js";
import { ImportRecord } from "../schemas.js";
import type { RawRecord } from "./import-instances.js";

export type ImportFormat = "jsonl" | "json" | "csv";

export function formatOfFile(path: string): ImportFormat {
  const ext = extname(path).toLowerCase();
  if (ext === ".jsonl" || ext === ".ndjson") return "jsonl";
  if (ext === ".json") return "json";
  if (ext === ".csv") return "csv";
  throw badInput(
    `cannot tell the format of ${JSON.stringify(path)}: use a .jsonl, .ndjson, .json or .csv file`,
  );
}

export function recordsOf(input: Readable, format: ImportFormat): AsyncIterable<RawRecord> {
  if (format === "jsonl") return jsonLines(input);
  if (format === "json") return jsonArray(input);
  return csvRows(input);
}

export function recordsOfFile(path: string): AsyncIterable<RawRecord> {
  return recordsOf(createReadStream(path), formatOfFile(path));
}

async function* jsonLines(input: Readable): AsyncGenerator<RawRecord> {
  let line = 0;
  for await (const text of createInterface({ input, crlfDelay: Number.POSITIVE_INFINITY })) {
    line++;
    if (text.trim() === "") continue;
    yield { position: `line ${line}`, value: parseJson(text, `line ${line}`) };
  }
}

function parseJson(text: string, position: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    throw badInput(`${position}: not valid JSON`);
  }
}

/**
 * Splits a top-level JSON array into its elements as bytes arrive, then JSON.parse's each one.
 * Hand-written rather than a streaming JSON library because those assemble objects by property
 * assignment (a "__proto__" key would then set a prototype); JSON.parse keeps it a plain key.
 */
async function* jsonArray(input: Readable): AsyncGenerator<RawRecord> {
  input.setEncoding("utf8");
  let state: "before" | "element" | "after-element" | "done" = "before";
  let depth = 0;
  let inString = false;
  let escaped = false;
  let buffer = "";
  let index = 0;
  const fail = (why: string): never => {
    throw badInput(`index ${index}: ${why}`);
  };
  for await (const chunk of input as AsyncIterable<string>) {
    for (let i = 0; i < chunk.length; i++) {
      const c = chunk[i] as string;
      if (state === "element") {
        if (inString) {
          if (escaped) escaped = false;
          else if (c === "\\") escaped = true;
          else if (c === '"') inString = false;
        } else if (c === '"') inString = true;
        else if (c === "{" || c === "[") depth++;
        else if (c === "}" || c === "]") {
          if (depth === 0) {
            if (c === "]") {
              if (buffer.trim() !== "")
                yield { position: `index ${index}`, value: parseJson(buffer, `index ${index}`) };
              state = "done";
              continue;
            }
            fail("not valid JSON");
          }
          depth--;
        } else if (c === "," && depth === 0) {
          yield { position: `index ${index}`, value: parseJson(buffer, `index ${index}`) };
          index++;
          buffer = "";
          continue;
        }
        buffer += c;
        if (buffer.length > 1_000_000) fail("a record is larger than 1 MB");
      } else if (/\s/.test(c)) {
        // whitespace between tokens
      } else if (state === "before") {
        if (c !== "[") fail("the input must be a JSON array of records");
        state = "element";
      } else {
        fail("unexpected data after the end of the array");
      }
    }
  }
  if (state !== "done") fail("the JSON array is not closed");
}

const INTEGER_COLUMNS = new Set([
  "frozen_status",
  "running_status",
  "login_status",
  "assign_status",
  "backup_status",
  "restore_status",
]);

/** CSV with a header row naming the fields; empty cells mean "not given". */
async function* csvRows(input: Readable): AsyncGenerator<RawRecord> {
  // The header is checked here: csv-parse builds rows by assignment, so a "__proto__" column
  // would vanish instead of being reported.
  const columns = (header: string[]) => {
    const unknown = header.find((name) => !Object.hasOwn(ImportRecord.properties, name));
    if (unknown !== undefined) throw badInput(`line 1: unknown column ${JSON.stringify(unknown)}`);
    return header;
  };
  const parser = input.pipe(
    parseCsv({ columns, bom: true, info: true, skip_empty_lines: true, trim: false }),
  );
  try {
    for await (const row of parser as AsyncIterable<{
      record: Record<string, string>;
      info: { lines: number };
    }>) {
      const value: Record<string, unknown> = {};
      for (const [key, cell] of Object.entries(row.record)) {
        if (cell === "") continue;
        value[key] = INTEGER_COLUMNS.has(key) && /^\d+$/.test(cell) ? Number(cell) : cell;
      }
      yield { position: `line ${row.info.lines}`, value };
    }
  } catch (error) {
    if (error instanceof ApiError) throw error;
    if (error instanceof Error && "code" in error && String(error.code).startsWith("CSV_")) {
      const line = (error as { lines?: number }).lines;
      throw badInput(`line ${line ?? "?"}: ${error.message}`);
    }
    throw error;
  }
}
