// MX records → the hosts to try, in order (RFC 5321 5.1): lowest preference first, and in random order
// among equal preferences so that load spreads as the domain intends. A lone "." record is a null MX
// (RFC 7505): the domain accepts no mail. Pure; the randomness is passed in.

export interface MxRecord {
  readonly exchange: string;
  readonly priority: number;
}

export type MxHosts = { readonly kind: "null-mx" } | { readonly kind: "hosts"; readonly hosts: readonly string[] };

/** A uniform random number in [0, 1), like Math.random. */
export type Random = () => number;

export function orderMx(records: readonly MxRecord[], random: Random = Math.random): MxHosts {
  const named = records
    .map((r) => ({ host: r.exchange.toLowerCase().replace(/\.$/, ""), priority: r.priority }))
    // A "." beside real records breaks RFC 7505; the real records are the domain's intent.
    .filter((r) => r.host !== "");
  if (named.length === 0) return records.length > 0 ? { kind: "null-mx" } : { kind: "hosts", hosts: [] };
  const byPriority = new Map<number, string[]>();
  for (const { host, priority } of named) byPriority.set(priority, [...(byPriority.get(priority) ?? []), host]);
  const hosts: string[] = [];
  for (const priority of [...byPriority.keys()].sort((a, b) => a - b)) {
    for (const host of shuffle(byPriority.get(priority)!, random)) if (!hosts.includes(host)) hosts.push(host);
  }
  return { kind: "hosts", hosts };
}

/** Fisher–Yates on a copy. */
function shuffle<T>(items: readonly T[], random: Random): T[] {
  const out = [...items];
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [out[i], out[j]] = [out[j]!, out[i]!];
  }
  return out;
}
