// ImageNet synset ids (the ImageNet-Sketch folder names) to class names, from the two tables shipped in
// public/: imagenet-synsets.tsv (WordNet names) and imagenet-clip-classnames.tsv (OpenAI's cleaned names).
// The tables come in as text so Node (fs) and the browser (fetch) can both supply them.

export type ClassNameSource = 'clip' | 'wordnet';

export interface SynsetNames {
  synset: string;
  /** ImageNet-1k class index (position in the sorted synset list). */
  index: number;
  /** First WordNet lemma, e.g. "English springer". */
  wordnetName: string;
  /** Every WordNet lemma, e.g. ["English springer", "English springer spaniel"]. */
  allNames: string[];
  /** Prompt-friendly name, e.g. "English Springer Spaniel". */
  clipName: string;
}

export type SynsetTable = ReadonlyMap<string, SynsetNames>;

export const SYNSET_ID = /^n\d{8}$/;

function parseTsv(text: string, tableName: string, columns: readonly string[]): string[][] {
  const lines = text.split(/\r?\n/);
  while (lines.length > 0 && lines[lines.length - 1] === '') lines.pop();
  const header = lines[0]?.split('\t') ?? [];
  if (columns.some((c, i) => header[i] !== c)) {
    throw new Error(`${tableName}: expected the header "${columns.join('\\t')}", got "${lines[0] ?? ''}"`);
  }
  return lines.slice(1).map((line, i) => {
    const cells = line.split('\t');
    if (cells.length !== columns.length) {
      throw new Error(`${tableName} line ${i + 2}: expected ${columns.length} tab-separated columns, got ${cells.length}`);
    }
    if (!SYNSET_ID.test(cells[1]!)) throw new Error(`${tableName} line ${i + 2}: "${cells[1]}" is not a synset id`);
    return cells;
  });
}

/** Joins imagenet-synsets.tsv and imagenet-clip-classnames.tsv by synset; both must list the same synsets. */
export function parseSynsetTables(synsetsTsv: string, clipClassNamesTsv: string): SynsetTable {
  const table = new Map<string, SynsetNames>();
  for (const [index, synset, firstName, allNames] of parseTsv(synsetsTsv, 'imagenet-synsets.tsv', ['index', 'synset', 'first_name', 'all_names'])) {
    table.set(synset!, { synset: synset!, index: Number(index), wordnetName: firstName!, allNames: allNames!.split(', '), clipName: '' });
  }
  const clipRows = parseTsv(clipClassNamesTsv, 'imagenet-clip-classnames.tsv', ['index', 'synset', 'clip_name']);
  for (const [, synset, clipName] of clipRows) {
    const names = table.get(synset!);
    if (!names) throw new Error(`imagenet-clip-classnames.tsv: synset ${synset} is not in imagenet-synsets.tsv`);
    names.clipName = clipName!;
  }
  if (clipRows.length !== table.size) {
    throw new Error(`imagenet-clip-classnames.tsv has ${clipRows.length} classes, imagenet-synsets.tsv has ${table.size}`);
  }
  return table;
}

export function synsetClassName(names: SynsetNames, source: ClassNameSource): string {
  return source === 'clip' ? names.clipName : names.wordnetName;
}
