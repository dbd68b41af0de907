import { describe, expect, it } from 'vitest';
import { Philox, philox4x32 } from '../../src/random/philox';

const hex = (words: ArrayLike<number>): string[] => Array.from(words, (w) => w.toString(16).padStart(8, '0'));

describe('philox4x32', () => {
  // Known-answer vectors of Random123 (kat_vectors, philox4x32_10).
  it('matches the Random123 known-answer vectors', () => {
    expect(hex(philox4x32(0, 0, 0, 0, 0, 0))).toEqual(['6627e8d5', 'e169c58d', 'bc57ac4c', '9b00dbd8']);
    const ones = 0xffffffff;
    expect(hex(philox4x32(ones, ones, ones, ones, ones, ones))).toEqual(['408f276d', '41c83b0e', 'a20bc7c6', '6d5451fd']);
    expect(hex(philox4x32(0x243f6a88, 0x85a308d3, 0x13198a2e, 0x03707344, 0xa4093822, 0x299f31d0))).toEqual([
      'd16cfe09', '94fdcceb', '5001e420', '24126ea1',
    ]);
  });
});

describe('Philox', () => {
  it('keys the stream with the 64-bit seed (low word first) and counts blocks from zero', () => {
    const seed = (0x01234567n << 32n) | 0x89abcdefn;
    const words = new Philox(seed).words(8);
    expect(Array.from(words.subarray(0, 4))).toEqual(philox4x32(0, 0, 0, 0, 0x89abcdef, 0x01234567));
    expect(Array.from(words.subarray(4))).toEqual(philox4x32(1, 0, 0, 0, 0x89abcdef, 0x01234567));
    expect(() => new Philox(-1)).toThrow(RangeError);
    expect(() => new Philox(1n << 64n)).toThrow(RangeError);
  });

  it('is deterministic per seed and differs between seeds', () => {
    const a = new Philox(1234).normal(1000);
    expect(new Philox(1234).normal(1000)).toEqual(a);
    expect(new Philox(1235).normal(1000)).not.toEqual(a);
  });

  it('splits the word stream at any point without changing it', () => {
    const whole = new Philox(7).words(11);
    const parts = new Philox(7);
    const joined = [...parts.words(3), ...parts.words(6), ...parts.words(2)];
    expect(joined).toEqual(Array.from(whole));
  });

  it('resumes from a serialised state exactly where the stream left off', () => {
    const continuous = new Philox(99);
    continuous.normal(7);
    continuous.uniform(5);
    const expected = [...continuous.normal(33), ...continuous.uniform(9)];

    const first = new Philox(99);
    first.normal(7);
    first.uniform(5);
    const saved = JSON.parse(JSON.stringify(first.state()));
    const resumed = Philox.fromState(saved);
    expect([...resumed.normal(33), ...resumed.uniform(9)]).toEqual(expected);
  });

  it('makes uniforms strictly inside (0, 1) from whole 32-bit words', () => {
    const words = new Philox(5).words(4);
    const u = new Philox(5).uniform(4);
    for (let i = 0; i < 4; i++) expect(u[i]).toBe((words[i]! + 0.5) / 2 ** 32);
    const many = new Philox(6).uniform(100_000);
    expect(Math.min(...many)).toBeGreaterThan(0);
    expect(Math.max(...many)).toBeLessThan(1);
  });

  it('produces standard normals: mean, variance and the one-sigma mass of 1e5 samples', () => {
    const n = 100_000;
    const z = new Philox(2024).normal(n);
    let sum = 0;
    let squares = 0;
    let inside = 0;
    for (const v of z) {
      sum += v;
      squares += v * v;
      if (Math.abs(v) < 1) inside++;
    }
    const mean = sum / n;
    const variance = squares / n - mean * mean;
    // Standard errors: mean 1/sqrt(n) ≈ 0.0032, variance sqrt(2/n) ≈ 0.0045, mass ≈ 0.0015; bounds ≈ 5σ.
    expect(Math.abs(mean)).toBeLessThan(0.016);
    expect(Math.abs(variance - 1)).toBeLessThan(0.023);
    expect(Math.abs(inside / n - 0.6826895)).toBeLessThan(0.0075);
  });

  it('uses whole Box-Muller pairs: an odd count skips the unused sine', () => {
    const odd = new Philox(3);
    const first = odd.normal(3);
    const rest = odd.normal(2);
    const even = new Philox(3).normal(6);
    expect(Array.from(first)).toEqual(Array.from(even.subarray(0, 3)));
    expect(Array.from(rest)).toEqual(Array.from(even.subarray(4, 6)));
  });
});
