/** Option value parsers: syntax only. What a value may be is checked by the operation. */
import { InvalidArgumentError } from "commander";

export function integer(value: string): number {
  if (!/^\d{1,15}$/.test(value)) throw new InvalidArgumentError("Expected a whole number.");
  return Number(value);
}

/** For repeatable options: `--project a --project b` → ["a", "b"]. */
export function collect(value: string, previous: string[] | undefined): string[] {
  return [...(previous ?? []), value];
}
