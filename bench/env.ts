/** The bench's numeric settings from the environment (BENCH_DURATION and the like). */

/**
 * The whole number `env[name]` holds, at least `min`, or `fallback` when it is unset or empty;
 * anything else stops the bench with a line naming the variable.
 */
export function wholeNumber(
  env: Record<string, string | undefined>,
  name: string,
  fallback: number,
  min: number,
): number {
  const text = env[name];
  if (text === undefined || text.trim() === "") return fallback;
  const value = Number(text);
  if (!/^\s*\d+\s*$/.test(text) || value < min) {
    throw new Error(
      `${name} must be a whole number of at least ${min}, got ${JSON.stringify(text)}`,
    );
  }
  return value;
}
