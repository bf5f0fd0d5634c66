/**
 * The V8 flags `phonefleet` runs with: on the first line of src/cli/main.ts
 * (`#!/usr/bin/env -S node …`, how the installed command starts), in `npm start`, and in the
 * benchmark's server; test/node-flags.test.ts keeps them the same.
 *
 * `--max-semi-space-size=4`: a young generation of at most 3 × 4 MB instead of V8's 3 × 16 MB.
 * Under steady load the young generation grows to its limit whatever the request, and at 16 MB
 * it alone held ~35 MB of the server's RSS (issue 5: ≤ 200 MB); at 4 MB the uncached pages were
 * served as fast (4,867 against 4,644 req/s, one run each, page 1 on the 1M tenant).
 */
export const NODE_FLAGS = ["--max-semi-space-size=4"] as const;
