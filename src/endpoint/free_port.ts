// A free TCP port on loopback in SQL Server's endpoint range (LISTENER_PORT must be 1024–32767;
// the kernel's ephemeral ports lie above it, so a port handed out here is rarely taken meanwhile).
// For the demo and the tests, which create endpoints on one machine.
import * as net from "node:net";

export async function freeEndpointPort(): Promise<number> {
  for (;;) {
    const port = 20000 + Math.floor(Math.random() * 12000);
    const free = await new Promise<boolean>((resolve) => {
      const probe = net.createServer();
      probe.once("error", () => resolve(false));
      probe.listen(port, "127.0.0.1", () => probe.close(() => resolve(true)));
    });
    if (free) return port;
  }
}
