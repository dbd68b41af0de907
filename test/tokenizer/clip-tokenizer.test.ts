import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { nodeDirectory } from '../../src/io/node-file-source';
import { readNpy, toInt32 } from '../../src/io/npy';
import { ClipTokenizer } from '../../src/tokenizer/clip-tokenizer';

const GOLDEN = join(__dirname, '../fixtures/golden');

describe.each(['tiny-sd15', 'tiny-sd2'])('CLIP tokenizer on golden %s', (model) => {
  const expected = join(GOLDEN, model, 'expected');
  const prompts = (JSON.parse(readFileSync(join(expected, 'prompts.json'), 'utf8')) as { prompts: { prompt: string; n_untruncated: number }[] }).prompts;
  // A plain Uint8Array: a Node Buffer's slice() aliases the shared pool.
  const golden = readNpy(new Uint8Array(readFileSync(join(expected, 'tokenizer_input_ids.npy'))));

  it('reproduces tokenizer_input_ids.npy for every prompt', async () => {
    const tokenizer = await ClipTokenizer.fromFolder(await nodeDirectory(join(GOLDEN, model, 'model')));
    expect(golden.shape).toEqual([prompts.length, 77]);
    const rows = [...toInt32(golden)];
    prompts.forEach(({ prompt, n_untruncated }, i) => {
      const { ids, length, truncated } = tokenizer.encode(prompt);
      expect({ prompt, ids: [...ids] }).toEqual({ prompt, ids: rows.slice(i * 77, i * 77 + 77) });
      expect(length).toBe(Math.min(n_untruncated, 77));
      expect(truncated === null).toBe(n_untruncated <= 77);
    });
  });
});

describe('CLIP tokenizer details', () => {
  // A hand-made vocabulary: 256 byte symbols, their </w> forms, a few merges, two specials.
  const symbols: string[] = [];
  for (let b = 0x21; b <= 0x7e; b++) symbols.push(String.fromCharCode(b));
  const merges = ['c a', 'ca t</w>', 'd o', 'do g</w>'];
  const vocab: Record<string, number> = {};
  [...symbols, ...symbols.map((s) => `${s}</w>`), 'ca', 'cat</w>', 'do', 'dog</w>', '<|startoftext|>', '<|endoftext|>'].forEach(
    (t, i) => (vocab[t] = i),
  );
  const tokenizer = ClipTokenizer.fromFiles(JSON.stringify(vocab), `#version: 0.2\n${merges.join('\n')}\n`, { maxLength: 8 });
  const bos = vocab['<|startoftext|>'];
  const eos = vocab['<|endoftext|>'];

  it('merges by rank, lower-cases and pads with the pad token', () => {
    const { ids, length, truncated } = tokenizer.encode('  CAT\tdog ');
    expect([...ids]).toEqual([bos, vocab['cat</w>'], vocab['dog</w>'], eos, eos, eos, eos, eos]);
    expect(length).toBe(4);
    expect(truncated).toBeNull();
  });

  it('truncates to maxLength, keeps eos last and reports the dropped text', () => {
    const { ids, length, truncated } = tokenizer.encode('cat dog cat dog cat dog cat dog');
    expect(ids.length).toBe(8);
    expect(ids[7]).toBe(eos);
    expect(length).toBe(8);
    expect(truncated).toBe('cat dog');
  });

  it('pads with "!" when that is the pad token, and splits it out of the text as a special token', () => {
    const sd2 = ClipTokenizer.fromFiles(JSON.stringify(vocab), `#version: 0.2\n${merges.join('\n')}`, { padToken: '!', maxLength: 8 });
    expect([...sd2.encode('cat!!').ids]).toEqual([bos, vocab['cat</w>'], vocab['!'], vocab['!'], eos, 0, 0, 0]);
    expect([...tokenizer.encode('cat!!').ids.slice(0, 4)]).toEqual([bos, vocab['cat</w>'], vocab['!'], vocab['!</w>']]);
  });
});
