// A real authoritative-style DNS server for tests: UDP on 127.0.0.1, an OS-chosen port, answering from
// a zone the test sets (and may change at any time). Names not in the zone get NXDOMAIN; a name with no
// records of the asked type gets an empty NOERROR answer (NODATA), as a real server would. The relay's
// resolver is pointed at it with `dns.servers: ["127.0.0.1:<port>"]`, so the real resolver path runs.
import { createSocket, type RemoteInfo } from "node:dgram";
import dnsPacket, { type Answer, type Packet } from "dns-packet";

export type ZoneEntry = {
  MX?: { preference: number; exchange: string }[];
  A?: string[];
  AAAA?: string[];
  /** Answer every question about this name with this response code. */
  rcode?: "SERVFAIL" | "REFUSED" | "NXDOMAIN";
  /** Never answer (the resolver times out). */
  silent?: boolean;
};

/** Names in lower case without the trailing dot. */
export type Zone = Record<string, ZoneEntry>;

export type DnsServer = {
  /** `127.0.0.1:<port>`, the form `dns.servers` takes. */
  address: string;
  port: number;
  zone: Zone;
  /** Questions received, as `TYPE name`. */
  queries: string[];
  close(): Promise<void>;
};

const RCODE = { NOERROR: 0, SERVFAIL: 2, NXDOMAIN: 3, REFUSED: 5 } as const;

export async function startDnsServer(zone: Zone = {}): Promise<DnsServer> {
  const socket = createSocket("udp4");
  const queries: string[] = [];
  const server: DnsServer = { address: "", port: 0, zone, queries, close: () => new Promise((resolve) => socket.close(() => resolve())) };

  socket.on("message", (message: Buffer, peer: RemoteInfo) => {
    let query: Packet;
    try {
      query = dnsPacket.decode(message);
    } catch {
      return;
    }
    const question = query.questions?.[0];
    if (question === undefined) return;
    const name = question.name.toLowerCase().replace(/\.$/, "");
    queries.push(`${question.type} ${name}`);
    const entry = server.zone[name];
    if (entry?.silent === true) return;
    const answers: Answer[] = entry === undefined || entry.rcode !== undefined ? [] : answersFor(name, question.type, entry);
    const rcode = entry === undefined ? RCODE.NXDOMAIN : RCODE[entry.rcode ?? "NOERROR"];
    const response = dnsPacket.encode({
      type: "response",
      id: query.id ?? 0,
      flags: dnsPacket.AUTHORITATIVE_ANSWER | dnsPacket.RECURSION_DESIRED | dnsPacket.RECURSION_AVAILABLE | rcode,
      questions: [question],
      answers,
    });
    socket.send(response, peer.port, peer.address);
  });

  await new Promise<void>((resolve) => socket.bind(0, "127.0.0.1", resolve));
  server.port = socket.address().port;
  server.address = `127.0.0.1:${server.port}`;
  return server;
}

function answersFor(name: string, type: string, entry: ZoneEntry): Answer[] {
  const ttl = 60;
  switch (type) {
    case "MX":
      return (entry.MX ?? []).map((data) => ({ type: "MX", name, ttl, data }));
    case "A":
      return (entry.A ?? []).map((data) => ({ type: "A", name, ttl, data }));
    case "AAAA":
      return (entry.AAAA ?? []).map((data) => ({ type: "AAAA", name, ttl, data }));
    default:
      return [];
  }
}
