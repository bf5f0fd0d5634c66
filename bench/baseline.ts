/**
 * The benchmark's yardstick: a bare node:http server that answers every request with one
 * precomputed page (the bytes and content type the real server sent for page 1). Every figure of
 * the benchmark is a ratio against this server, measured in the same run.
 *
 * Usage: node --import tsx bench/baseline.ts <body-file> <port>
 */
import { readFileSync } from "node:fs";
import { createServer } from "node:http";

const [file, port] = process.argv.slice(2);
if (!file || !port) throw new Error("usage: baseline.ts <body-file> <port>");
const body = readFileSync(file);
const server = createServer((_request, response) => {
  response.writeHead(200, {
    "content-type": "application/json; charset=utf-8",
    "content-length": body.length,
  });
  response.end(body);
});
server.keepAliveTimeout = 72_000;
server.listen(Number(port), "127.0.0.1", () => console.error(`baseline on ${port}`));
process.on("SIGTERM", () => server.close(() => process.exit(0)));
