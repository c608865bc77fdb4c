// Which addresses a webhook endpoint may be reached at. Endpoints are written by namespace users, so
// without a guard a webhook could make the relay post into the cluster's own network (SSRF): the API
// server, cloud metadata at 169.254.169.254, a sidecar on loopback. Addresses outside the public
// unicast space are refused unless the relay's operator lists them in `endpoints.allowNetworks`.
// Pure: parsing and range checks only; guarded-connector.ts applies the guard to real connections.
import { isIP } from "node:net";

/** 4 bytes (IPv4) or 16 bytes (IPv6), network order. */
type IpBytes = Uint8Array;
type Network = { bytes: IpBytes; prefix: number };

export type AddressVerdict = { allowed: true } | { allowed: false; range: string };
export type AddressGuard = (address: string) => AddressVerdict;

/** Refusal of a connection to a forbidden address. Matched by `code`, not by class. */
export class EndpointAddressForbiddenError extends Error {
  readonly code = "ENDPOINT_ADDRESS_FORBIDDEN";
  readonly address: string;
  readonly range: string;

  constructor(address: string, range: string) {
    super(`endpoint address ${address} is ${range}; list it in endpoints.allowNetworks to allow it`);
    this.name = "EndpointAddressForbiddenError";
    this.address = address;
    this.range = range;
  }
}

// Special-purpose ranges (IANA IPv4/IPv6 special-purpose registries) that a public webhook endpoint never
// legitimately uses. First match names the range in the refusal. IPv4-mapped (::ffff:0:0/96) and NAT64
// (64:ff9b::/96) addresses are judged by the IPv4 address they carry, so they cannot smuggle one in.
const SPECIAL_RANGES: readonly (readonly [network: string, range: string])[] = [
  ["0.0.0.0/8", "unspecified"],
  ["10.0.0.0/8", "private"],
  ["100.64.0.0/10", "shared address space (CGNAT)"],
  ["127.0.0.0/8", "loopback"],
  ["169.254.0.0/16", "link-local"],
  ["172.16.0.0/12", "private"],
  ["192.0.0.0/24", "reserved"],
  ["192.0.2.0/24", "documentation"],
  ["192.88.99.0/24", "reserved"],
  ["192.168.0.0/16", "private"],
  ["198.18.0.0/15", "benchmarking"],
  ["198.51.100.0/24", "documentation"],
  ["203.0.113.0/24", "documentation"],
  ["224.0.0.0/4", "multicast"],
  ["240.0.0.0/4", "reserved"],
  ["::/128", "unspecified"],
  ["::1/128", "loopback"],
  ["fc00::/7", "unique-local"],
  ["fe80::/10", "link-local"],
  ["fec0::/10", "site-local"],
  ["ff00::/8", "multicast"],
  // Inside global unicast (2000::/3) but not reachable endpoints: IETF protocol assignments (Teredo,
  // benchmarking, ORCHID), documentation, and 6to4, which tunnels to an embedded IPv4 address.
  ["2001::/23", "reserved"],
  ["2001:db8::/32", "documentation"],
  ["2002::/16", "reserved"],
  ["3fff::/20", "documentation"],
];

const COMPILED_RANGES = SPECIAL_RANGES.map(([network, range]) => ({ network: parseNetwork(network), range }));
const GLOBAL_UNICAST_V6 = parseNetwork("2000::/3");
const IPV4_MAPPED = parseNetwork("::ffff:0:0/96");
const NAT64 = parseNetwork("64:ff9b::/96");

/** Parses an IPv4 or IPv6 address (an IPv6 zone such as `%eth0` is ignored); null if it is not one. */
export function parseIp(text: string): IpBytes | null {
  const address = text.replace(/%.*$/s, "");
  const family = isIP(address);
  if (family === 4) return parseIpv4(address);
  if (family === 6) return parseIpv6(address);
  return null;
}

function parseIpv4(address: string): IpBytes {
  return Uint8Array.from(address.split("."), Number);
}

// Only called on text that isIP() accepted, so the shape is known to be valid.
function parseIpv6(address: string): IpBytes {
  let text = address;
  const lastColon = text.lastIndexOf(":");
  const tail = text.slice(lastColon + 1);
  if (tail.includes(".")) {
    const [a = 0, b = 0, c = 0, d = 0] = parseIpv4(tail);
    text = `${text.slice(0, lastColon + 1)}${((a << 8) | b).toString(16)}:${((c << 8) | d).toString(16)}`;
  }
  const [head = "", rest] = text.split("::");
  const headGroups = head === "" ? [] : head.split(":");
  const restGroups = rest === undefined || rest === "" ? [] : rest.split(":");
  const groups =
    rest === undefined
      ? headGroups
      : [...headGroups, ...Array<string>(8 - headGroups.length - restGroups.length).fill("0"), ...restGroups];
  const bytes = new Uint8Array(16);
  groups.forEach((group, i) => {
    const value = parseInt(group, 16);
    bytes[i * 2] = value >> 8;
    bytes[i * 2 + 1] = value & 0xff;
  });
  return bytes;
}

/** Parses `address/prefix` (a bare address is a single host); throws on anything else. */
export function parseNetwork(text: string): Network {
  const [address = "", prefixText, ...extra] = text.split("/");
  const bytes = parseIp(address);
  const maxPrefix = bytes === null ? 0 : bytes.length * 8;
  const prefix = prefixText === undefined ? maxPrefix : Number(prefixText);
  const prefixValid = prefixText === undefined || /^\d{1,3}$/.test(prefixText);
  if (bytes === null || extra.length > 0 || !prefixValid || prefix > maxPrefix) {
    throw new Error(`invalid network ${JSON.stringify(text)}: expected CIDR notation such as 10.0.0.0/8`);
  }
  return { bytes, prefix };
}

function contains(network: Network, bytes: IpBytes): boolean {
  if (network.bytes.length !== bytes.length) return false;
  const whole = network.prefix >> 3;
  for (let i = 0; i < whole; i++) if (network.bytes[i] !== bytes[i]) return false;
  const bits = network.prefix & 7;
  if (bits === 0) return true;
  const mask = (0xff << (8 - bits)) & 0xff;
  return ((network.bytes[whole] ?? 0) & mask) === ((bytes[whole] ?? 0) & mask);
}

/** The IPv4 address an IPv4-mapped or NAT64 IPv6 address stands for; otherwise the address itself. */
function effectiveAddress(bytes: IpBytes): IpBytes {
  return contains(IPV4_MAPPED, bytes) || contains(NAT64, bytes) ? bytes.slice(12) : bytes;
}

/** The special-purpose range an address belongs to, or null for a public unicast address. */
export function specialRange(address: string): string | null {
  const bytes = parseIp(address);
  if (bytes === null) return "not an IP address";
  const effective = effectiveAddress(bytes);
  const match = COMPILED_RANGES.find(({ network }) => contains(network, effective));
  if (match) return match.range;
  if (effective.length === 16 && !contains(GLOBAL_UNICAST_V6, effective)) return "not global unicast";
  return null;
}

/**
 * Whether an address (or the IPv4 address an IPv4-mapped/NAT64 one embeds) lies in one of `networks`.
 * Compiled once per configuration; used for the endpoint guard's exceptions and the submission
 * listener's allowed relay sources.
 */
export function compileNetworkMatcher(networks: readonly string[]): (address: string) => boolean {
  // An IPv4 network written in IPv4-mapped IPv6 form (::ffff:10.0.0.0/104) means the IPv4 network.
  const compiled = networks.map(parseNetwork).map((n) =>
    n.bytes.length === 16 && n.prefix >= 96 && contains(IPV4_MAPPED, n.bytes) ? { bytes: n.bytes.slice(12), prefix: n.prefix - 96 } : n,
  );
  return (address) => {
    const bytes = parseIp(address);
    if (bytes === null) return false;
    const effective = effectiveAddress(bytes);
    return compiled.some((network) => contains(network, bytes) || contains(network, effective));
  };
}

/**
 * Compiles the guard once per configuration. An address is allowed when it (or the IPv4 address it
 * embeds) is inside one of `allowNetworks`, or when it is public unicast.
 */
export function compileAddressGuard(allowNetworks: readonly string[]): AddressGuard {
  const exempt = compileNetworkMatcher(allowNetworks);
  return (address) => {
    if (exempt(address)) return { allowed: true };
    const range = specialRange(address);
    return range === null ? { allowed: true } : { allowed: false, range };
  };
}
