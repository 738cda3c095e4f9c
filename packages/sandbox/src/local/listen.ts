import type { Server } from "node:http";
import type { AddressInfo } from "node:net";

/** Where a local service listens (default 127.0.0.1, any free port), and what its own client uses. */
export interface LocalServiceOptions<Credentials> {
  readonly region: string;
  readonly credentials: Credentials;
  readonly port?: number;
  readonly host?: string;
}

/** Starts `server` on `host` and `port` (0: any free port). @returns the port it listens on. */
export async function listen(
  server: Pick<Server, "once" | "off" | "listen" | "address">,
  port: number,
  host: string,
): Promise<number> {
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, host, () => {
      server.off("error", reject);
      resolve();
    });
  });
  return (server.address() as AddressInfo).port;
}
