// An undici connector that only ever talks to addresses the address guard allows. Checked three times,
// because a name is not an address:
//   1. an IP-literal host is judged before any packet is sent;
//   2. a host name is resolved by our own lookup, which drops forbidden addresses before connecting, so
//      neither a TCP handshake nor a TLS ClientHello reaches them (no port scanning through status);
//   3. after the connection is up, the socket's actual remote address is judged and the socket destroyed
//      if it is forbidden: the authoritative check, whatever path the connection took. Because the
//      checks apply to resolved and connected addresses, DNS rebinding cannot slip past them.
import { lookup as dnsLookup } from "node:dns";
import { isIP, type LookupFunction } from "node:net";
import { createSecureContext } from "node:tls";
import { buildConnector } from "undici";
import { compileAddressGuard, EndpointAddressForbiddenError, type AddressGuard } from "./address-guard.ts";

export type GuardedConnectorOptions = {
  /** Trusted CA certificates (PEM); replaces Node's default set, so include it when extending. */
  ca: readonly string[];
  allowNetworks: readonly string[];
  /** TCP + TLS handshake limit per connection attempt. */
  connectTimeoutMs: number;
};

function guardedLookup(guard: AddressGuard): LookupFunction {
  return (hostname, options, callback) => {
    dnsLookup(hostname, { ...options, all: true }, (error, addresses) => {
      if (error) return callback(error, []);
      const allowed = addresses.filter((entry) => guard(entry.address).allowed);
      const [first] = allowed;
      if (first === undefined) {
        const refused = addresses[0]?.address ?? hostname;
        const verdict = guard(refused);
        return callback(new EndpointAddressForbiddenError(refused, verdict.allowed ? "unresolved" : verdict.range), []);
      }
      if (options.all) callback(null, allowed);
      else callback(null, first.address, first.family);
    });
  };
}

export function buildGuardedConnector(options: GuardedConnectorOptions): buildConnector.connector {
  const guard = compileAddressGuard(options.allowNetworks);
  const connect = buildConnector({
    // One secure context for every connection: built per connection from the CA list (Node's ~150
    // roots plus ours), it cost more CPU than the post itself.
    secureContext: createSecureContext({ ca: [...options.ca] }),
    // HTTP/1.1 keep-alive only: predictable per-origin connection limits and the path every receiver supports.
    allowH2: false,
    timeout: options.connectTimeoutMs,
    lookup: guardedLookup(guard),
  });

  return (target, callback) => {
    const host = target.hostname.replace(/^\[(.*)\]$/s, "$1");
    if (isIP(host) !== 0) {
      const verdict = guard(host);
      if (!verdict.allowed) return callback(new EndpointAddressForbiddenError(host, verdict.range), null);
    }
    connect(target, (error, socket) => {
      if (error !== null) return callback(error, null);
      const remote = socket.remoteAddress ?? "unknown";
      const verdict = guard(remote);
      if (verdict.allowed) return callback(null, socket);
      socket.destroy();
      callback(new EndpointAddressForbiddenError(remote, verdict.range), null);
    });
  };
}
