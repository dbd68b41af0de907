// transformers' slow CLIPTokenizer (without ftfy), as diffusers calls it for Stable Diffusion:
// padding="max_length", max_length=77, truncation=True. Special tokens (and SD 2's pad token "!") are split out
// of the raw text first; each remaining piece is cleaned (basic-clean.ts), cut into pre-tokens by CLIP's regex,
// mapped to byte symbols and BPE-merged. The result is [bos, ..., eos] truncated to 77 and padded with the pad token.
import { readJson, readText, type DirectorySource } from '../io/file-source';
import { basicClean } from './basic-clean';
import { Bpe } from './bpe';
import { bytesToSymbols, UNICODE_TO_BYTE } from './byte-unicode';

export interface ClipTokenizerConfig {
  bosToken?: string;
  eosToken?: string;
  unkToken?: string;
  /** SD 1.x: '<|endoftext|>' (the transformers default); SD 2.x: '!'. */
  padToken?: string;
  /** Further tokens matched verbatim in the raw text (tokenizer_config.json "added_tokens_decoder"). */
  addedTokens?: readonly string[];
  maxLength?: number;
}

export interface Encoded {
  /** Exactly maxLength ids: bos, content, eos, padding. */
  ids: Int32Array;
  /** The text of the tokens cut off by truncation, or null when everything fit. */
  truncated: string | null;
  /** Ids before padding (bos and eos included). */
  length: number;
}

const PRE_TOKEN = /<\|startoftext\|>|<\|endoftext\|>|'s|'t|'re|'ve|'m|'ll|'d|[\p{L}]+|[\p{N}]|[^\s\p{L}\p{N}]+/giu;
// transformers keeps only the merges that fit the 49,408-token CLIP vocabulary.
const MAX_MERGES = 49152 - 256 - 2;

export class ClipTokenizer {
  readonly bosId: number;
  readonly eosId: number;
  readonly padId: number;
  readonly maxLength: number;
  private readonly unkId: number;
  private readonly specials: string[];
  private readonly bpe: Bpe;
  private readonly tokenById = new Map<number, string>();

  private constructor(
    private readonly vocab: ReadonlyMap<string, number>,
    merges: (readonly [string, string])[],
    config: ClipTokenizerConfig,
  ) {
    const bos = config.bosToken ?? '<|startoftext|>';
    const eos = config.eosToken ?? '<|endoftext|>';
    const unk = config.unkToken ?? '<|endoftext|>';
    const pad = config.padToken ?? '<|endoftext|>';
    const id = (token: string, role: string) => {
      const v = vocab.get(token);
      if (v === undefined) throw new Error(`tokenizer: the ${role} token "${token}" is not in vocab.json`);
      return v;
    };
    this.bosId = id(bos, 'bos');
    this.eosId = id(eos, 'eos');
    this.unkId = id(unk, 'unk');
    this.padId = id(pad, 'pad');
    this.maxLength = config.maxLength ?? 77;
    // Longest first, so that the leftmost match is also the longest one.
    this.specials = [...new Set([bos, eos, unk, pad, ...(config.addedTokens ?? [])])].sort((a, b) => b.length - a.length);
    for (const s of this.specials) id(s, 'added');
    for (const [token, i] of vocab) this.tokenById.set(i, token);
    // The two CLIP specials pass through BPE unchanged when the regex meets them in cleaned text.
    const preset = new Map([['<|startoftext|>', ['<|startoftext|>']], ['<|endoftext|>', ['<|endoftext|>']]]);
    this.bpe = new Bpe(merges, preset);
  }

  static fromFiles(vocabJson: string, mergesTxt: string, config: ClipTokenizerConfig = {}): ClipTokenizer {
    const parsed = JSON.parse(vocabJson) as Record<string, number>;
    const vocab = new Map(Object.entries(parsed));
    const merges = mergesTxt
      .trim()
      .split('\n')
      .slice(1, MAX_MERGES + 1) // line 1 is a "#version" header, whatever it says
      .map((line, i) => {
        const parts = line.trim().split(/\s+/);
        if (parts.length !== 2) throw new Error(`merges.txt line ${i + 2}: expected two symbols, got "${line}"`);
        return [parts[0], parts[1]] as const;
      });
    return new ClipTokenizer(vocab, merges, config);
  }

  /** A diffusers `tokenizer/` folder: vocab.json, merges.txt, and the special tokens of tokenizer_config.json. */
  static async fromFolder(dir: DirectorySource, subfolder = 'tokenizer'): Promise<ClipTokenizer> {
    const prefix = subfolder ? `${subfolder}/` : '';
    const need = async (name: string) => {
      const f = await dir.file(prefix + name);
      if (!f) throw new Error(`${dir.name}/${prefix}${name} is missing`);
      return f;
    };
    const vocab = await readText(await need('vocab.json'));
    const merges = await readText(await need('merges.txt'));
    const configFile = await dir.file(`${prefix}tokenizer_config.json`);
    const mapFile = await dir.file(`${prefix}special_tokens_map.json`);
    const settings: Record<string, unknown> = {
      ...(mapFile ? await readJson<Record<string, unknown>>(mapFile) : {}),
      ...(configFile ? await readJson<Record<string, unknown>>(configFile) : {}),
    };
    const content = (v: unknown) => (typeof v === 'string' ? v : (v as { content?: string } | undefined)?.content);
    const decoder = (settings.added_tokens_decoder ?? {}) as Record<string, unknown>;
    const maxLength = settings.model_max_length;
    return ClipTokenizer.fromFiles(vocab, merges, {
      bosToken: content(settings.bos_token),
      eosToken: content(settings.eos_token),
      unkToken: content(settings.unk_token),
      padToken: content(settings.pad_token),
      addedTokens: Object.values(decoder).map(content).filter((t): t is string => !!t),
      // Some tokenizer configs carry a huge placeholder instead of the real limit.
      maxLength: typeof maxLength === 'number' && maxLength <= 4096 ? maxLength : undefined,
    });
  }

  /** Content ids (no bos/eos), untruncated. */
  tokenize(text: string): number[] {
    const ids: number[] = [];
    for (const piece of this.splitSpecials(text)) {
      if (piece.special) {
        ids.push(this.vocab.get(piece.text)!);
        continue;
      }
      for (const match of basicClean(piece.text).matchAll(PRE_TOKEN)) {
        for (const symbol of this.bpe.encode(bytesToSymbols(match[0]))) ids.push(this.vocab.get(symbol) ?? this.unkId);
      }
    }
    return ids;
  }

  encode(text: string): Encoded {
    const content = this.tokenize(text);
    const room = this.maxLength - 2;
    const kept = content.slice(0, room);
    const ids = new Int32Array(this.maxLength).fill(this.padId);
    ids[0] = this.bosId;
    ids.set(kept, 1);
    ids[kept.length + 1] = this.eosId;
    return {
      ids,
      truncated: content.length > room ? this.decode(content.slice(room)) : null,
      length: kept.length + 2,
    };
  }

  /** Token ids back to text: byte symbols decoded as UTF-8, "</w>" as a space. */
  decode(ids: Iterable<number>): string {
    const bytes: number[] = [];
    for (const id of ids) {
      for (const ch of this.tokenById.get(id) ?? '') bytes.push(UNICODE_TO_BYTE.get(ch) ?? 0x3f);
    }
    return new TextDecoder().decode(new Uint8Array(bytes)).replaceAll('</w>', ' ').trim();
  }

  /** Splits the raw text around special tokens, leftmost-longest, like transformers' added-token trie. */
  private splitSpecials(text: string): { text: string; special: boolean }[] {
    const pieces: { text: string; special: boolean }[] = [];
    let start = 0;
    let i = 0;
    while (i < text.length) {
      const hit = this.specials.find((s) => text.startsWith(s, i));
      if (hit === undefined) {
        i++;
        continue;
      }
      if (i > start) pieces.push({ text: text.slice(start, i), special: false });
      pieces.push({ text: hit, special: true });
      i += hit.length;
      start = i;
    }
    if (start < text.length) pieces.push({ text: text.slice(start), special: false });
    return pieces;
  }
}
