/**
 * The local Redis the shared-limit tests need (127.0.0.1:6379). Under CI=true an unreachable
 * Redis fails the run; elsewhere the tests that need it skip with one line saying why.
 */
import net from "node:net";

export const REDIS_HOST = "127.0.0.1";
export const REDIS_PORT = 6379;
export const REDIS_URL = `redis://${REDIS_HOST}:${REDIS_PORT}`;

/** Whether something accepts TCP connections on REDIS_HOST:port (within a second). */
export function reachable(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect(port, REDIS_HOST);
    socket.setTimeout(1000, () => socket.destroy());
    socket.on("connect", () => {
      socket.end();
      resolve(true);
    });
    socket.on("error", () => resolve(false));
    socket.on("close", () => resolve(false));
  });
}

/** Whether Redis is up; throws under CI=true when it is not, else warns that `skipping` skips. */
export async function hasRedis(skipping: string): Promise<boolean> {
  if (await reachable(REDIS_PORT)) return true;
  const why = `Redis at ${REDIS_HOST}:${REDIS_PORT} is unreachable`;
  if (process.env.CI === "true") throw new Error(`${why}: required under CI=true`);
  console.warn(`[tests] ${why}: skipping ${skipping}`);
  return false;
}
