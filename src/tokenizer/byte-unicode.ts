// GPT-2's byte-to-unicode table (copied unchanged into CLIP): every byte becomes one visible character so BPE
// can run on strings. Printable bytes map to themselves; the other 68 map to U+0100, U+0101, ... in byte order.

function buildTable(): string[] {
  const table: string[] = new Array(256);
  const printable = (b: number) => (b >= 0x21 && b <= 0x7e) || (b >= 0xa1 && b <= 0xac) || (b >= 0xae && b <= 0xff);
  let next = 0;
  for (let b = 0; b < 256; b++) table[b] = String.fromCodePoint(printable(b) ? b : 0x100 + next++);
  return table;
}

export const BYTE_TO_UNICODE: readonly string[] = buildTable();

export const UNICODE_TO_BYTE: ReadonlyMap<string, number> = new Map(BYTE_TO_UNICODE.map((c, b) => [c, b]));

const utf8 = new TextEncoder();

export function bytesToSymbols(text: string): string {
  let out = '';
  for (const b of utf8.encode(text)) out += BYTE_TO_UNICODE[b];
  return out;
}
