// After a refused transaction the session is reset (RSET) for reuse. A server that hangs up or goes
// silent at that point must not leave the delivery pending forever (it would hold a worker slot, the
// job's lease and the destination's pool slot until restart).
import assert from "node:assert/strict";
import { createServer, type Server } from "node:net";
import { after, test } from "node:test";
import { outboundSettings } from "../../../relay/outbound/settings.ts";
import { OutboundDelivery } from "../../../relay/outbound/smtp-deliver.ts";

const servers: Server[] = [];
after(() => servers.forEach((s) => s.close()));

/** A destination that refuses the recipient, then closes or ignores the RSET. */
async function refusingServer(onRset: "close" | "silent"): Promise<number> {
  const server = createServer((socket) => {
    socket.on("error", () => undefined);
    socket.write("220 sink ESMTP\r\n");
    let buffer = "";
    socket.on("data", (data: Buffer) => {
      buffer += data.toString("latin1");
      for (let i = buffer.indexOf("\r\n"); i !== -1; i = buffer.indexOf("\r\n")) {
        const command = buffer.slice(0, 4).toUpperCase();
        buffer = buffer.slice(i + 2);
        if (command === "EHLO" || command === "HELO") socket.write("250 sink\r\n");
        else if (command === "MAIL") socket.write("250 ok\r\n");
        else if (command === "RCPT") socket.write("550 5.1.1 no such user\r\n");
        else if (command === "RSET" && onRset === "close") socket.destroy();
      }
    });
  });
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return (server.address() as { port: number }).port;
}

for (const onRset of ["close", "silent"] as const) {
  test(`a refused recipient is reported even when the server then ${onRset === "close" ? "hangs up on" : "ignores"} the RSET`, async () => {
    const port = await refusingServer(onRset);
    const delivery = new OutboundDelivery(outboundSettings.parse({ routes: { "dest.test": `127.0.0.1:${port}` }, heloName: "relay.test", timeouts: { commandSeconds: 1 } }));
    after(() => delivery.close());
    const result = await delivery.deliver({ from: "a@sender.test", to: "nobody@dest.test", message: Buffer.from("Subject: t\r\n\r\nhi\r\n"), trace: null });
    assert.equal(result.kind, "failed");
  });
}
