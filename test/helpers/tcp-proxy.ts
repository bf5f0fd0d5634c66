/**
 * A TCP forwarder on 127.0.0.1 in front of a real server (PostgreSQL, Redis), so a test can take
 * "the database" away from the app and give it back without touching the shared server:
 * - `refuse()`: existing connections are cut and new ones refused (a server restart, a crash);
 * - `blackhole()`: connections stay open but nothing gets through (a network partition);
 * - `restore()`: forwarding again, on the same port.
 */
import net from "node:net";

export interface TcpProxy {
  readonly port: number;
  refuse(): Promise<void>;
  blackhole(): void;
  restore(): Promise<void>;
  close(): Promise<void>;
}

export async function startTcpProxy(
  targetPort: number,
  targetHost = "127.0.0.1",
): Promise<TcpProxy> {
  let mode: "forward" | "blackhole" = "forward";
  const sockets = new Set<net.Socket>();
  const track = (socket: net.Socket) => {
    sockets.add(socket);
    socket.on("error", () => {});
    socket.on("close", () => sockets.delete(socket));
  };
  const cutAll = () => {
    for (const socket of sockets) socket.destroy();
  };

  const server = net.createServer((client) => {
    track(client);
    if (mode === "blackhole") return;
    const upstream = net.connect(targetPort, targetHost);
    track(upstream);
    client.pipe(upstream);
    upstream.pipe(client);
    client.on("close", () => upstream.destroy());
    upstream.on("close", () => client.destroy());
  });

  const listen = (port: number) =>
    new Promise<void>((resolve, reject) => {
      server.once("error", reject);
      server.listen(port, "127.0.0.1", () => {
        server.off("error", reject);
        resolve();
      });
    });
  const stopListening = () =>
    new Promise<void>((resolve) => (server.listening ? server.close(() => resolve()) : resolve()));

  await listen(0);
  const address = server.address();
  if (!address || typeof address === "string") throw new Error("proxy has no port");
  const port = address.port;

  return {
    port,
    async refuse() {
      const closed = stopListening();
      cutAll();
      await closed;
    },
    blackhole() {
      mode = "blackhole";
      for (const socket of sockets) {
        socket.unpipe();
        socket.pause();
      }
    },
    async restore() {
      if (mode === "blackhole") {
        mode = "forward";
        cutAll();
      }
      if (!server.listening) await listen(port);
    },
    async close() {
      const closed = stopListening();
      cutAll();
      await closed;
    },
  };
}
