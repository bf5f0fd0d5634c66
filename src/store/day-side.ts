/**
 * Both stores count a time bound's rows as whole days from their day counts plus the rows of
 * the bound's own day, read through the index. This says which side of the bound those rows are
 * counted on: before it (from the day's start) in the morning; from noon, after it (the day's
 * count less the rows after the bound). Either side gives the same number, and this one is
 * usually the shorter: a range ending at 23:59:59 counted its whole last day (~1,400 rows on
 * the 1M tenant) for nothing. `at` is "YYYY-MM-DD HH:MM:SS".
 */
export function countsFromDayEnd(at: string): boolean {
  return at.slice(11) >= "12";
}
