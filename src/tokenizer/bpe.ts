// Byte-pair encoding as CLIP does it: the last symbol of a word carries "</w>"; the adjacent pair with the
// lowest merge rank is merged everywhere (left to right, no overlaps) until no ranked pair remains.

export class Bpe {
  private readonly ranks = new Map<string, number>();
  private readonly cache = new Map<string, string[]>();

  /** `merges`: symbol pairs in rank order (a pair listed twice keeps its later rank, as transformers does). */
  constructor(merges: readonly (readonly [string, string])[], preset: ReadonlyMap<string, string[]> = new Map()) {
    merges.forEach(([a, b], rank) => this.ranks.set(pairKey(a, b), rank));
    for (const [word, symbols] of preset) this.cache.set(word, symbols);
  }

  /** The BPE symbols of one pre-token (already mapped to byte symbols). */
  encode(word: string): string[] {
    const cached = this.cache.get(word);
    if (cached) return cached;
    const chars = [...word];
    let symbols = [...chars.slice(0, -1), chars[chars.length - 1] + '</w>'];
    while (symbols.length > 1) {
      let best = Infinity;
      let first = '';
      let second = '';
      for (let i = 0; i < symbols.length - 1; i++) {
        const rank = this.ranks.get(pairKey(symbols[i], symbols[i + 1]));
        if (rank !== undefined && rank < best) {
          best = rank;
          first = symbols[i];
          second = symbols[i + 1];
        }
      }
      if (best === Infinity) break;
      const merged: string[] = [];
      for (let i = 0; i < symbols.length; i++) {
        if (i < symbols.length - 1 && symbols[i] === first && symbols[i + 1] === second) {
          merged.push(first + second);
          i++;
        } else {
          merged.push(symbols[i]);
        }
      }
      symbols = merged;
    }
    this.cache.set(word, symbols);
    return symbols;
  }
}

// Symbols never contain a space (merges.txt separates them by one), so it is a safe separator.
function pairKey(a: string, b: string): string {
  return `${a} ${b}`;
}
