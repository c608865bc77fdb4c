// Removes every field of one name from a message's header section, leaving all other bytes as they
// were. Pure and linear: one pass over the header section, which ends at the first empty line.

export function removeHeaderFields(raw: Buffer, name: string): Buffer {
  const end = headerEnd(raw);
  const wanted = name.toLowerCase();
  const kept: Buffer[] = [];
  let dropping = false;
  let start = 0;
  while (start < end) {
    const newline = raw.indexOf(0x0a, start);
    const stop = newline === -1 || newline >= end ? end : newline + 1;
    const line = raw.subarray(start, stop);
    const continuation = line[0] === 0x20 || line[0] === 0x09;
    // The name is what precedes the colon, trailing blanks removed (the obsolete `Name :` form
    // that header parsers, ours included, still accept).
    if (!continuation) dropping = fieldName(line) === wanted;
    if (!dropping) kept.push(line);
    start = stop;
  }
  return Buffer.concat([...kept, raw.subarray(end)]);
}

/** Offset of the empty line that ends the header section (or the end of the message). */
function headerEnd(raw: Buffer): number {
  for (let i = 0; i < raw.length; ) {
    if (raw[i] === 0x0a) return i;
    if (raw[i] === 0x0d && raw[i + 1] === 0x0a) return i;
    const newline = raw.indexOf(0x0a, i);
    if (newline === -1) return raw.length;
    i = newline + 1;
  }
  return raw.length;
}

function fieldName(line: Buffer): string | undefined {
  const colon = line.indexOf(0x3a);
  return colon === -1 ? undefined : line.subarray(0, colon).toString("latin1").replace(/[ \t]+$/, "").toLowerCase();
}
