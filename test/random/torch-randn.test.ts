import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { TorchGenerator } from '../../src/random/torch-randn';

interface GoldenCase {
  seed: number;
  shape?: number[];
  count?: number;
  values?: number[];
  first16?: number[];
  last16?: number[];
  sum?: number;
  sumsq?: number;
  sequence?: number[][];
  second_values?: number[];
}

const golden = JSON.parse(readFileSync('test/fixtures/golden/torch-randn.json', 'utf8')) as { cases: GoldenCase[] };
const TOLERANCE = 1e-6;

function expectClose(actual: ArrayLike<number>, expected: number[], label: string): void {
  expect(actual.length, label).toBe(expected.length);
  let worst = 0;
  for (let i = 0; i < expected.length; i++) worst = Math.max(worst, Math.abs(actual[i]! - expected[i]!));
  expect(worst, label).toBeLessThanOrEqual(TOLERANCE);
}

describe('TorchGenerator.randn', () => {
  const single = golden.cases.filter((c) => c.shape);

  it('covers both of torch\'s paths in the golden file', () => {
    expect(single.some((c) => c.count! < 16)).toBe(true);
    expect(single.some((c) => c.count! >= 16 && c.count! % 16 !== 0)).toBe(true);
  });

  for (const c of single) {
    it(`matches torch for seed ${c.seed}, shape [${c.shape!.join(', ')}]`, () => {
      const values = new TorchGenerator(c.seed).randn(c.shape!);
      expect(values.length).toBe(c.count);
      if (c.values) {
        expectClose(values, c.values, 'values');
      } else {
        expectClose(values.subarray(0, 16), c.first16!, 'first 16');
        expectClose(values.subarray(values.length - 16), c.last16!, 'last 16');
        let sum = 0;
        let squares = 0;
        for (const v of values) {
          sum += v;
          squares += v * v;
        }
        expect(Math.abs(sum - c.sum!)).toBeLessThan(TOLERANCE * values.length);
        expect(Math.abs(squares - c.sumsq!) / c.sumsq!).toBeLessThan(TOLERANCE);
      }
    });
  }

  for (const c of golden.cases.filter((g) => g.sequence)) {
    it(`continues the stream like torch: seed ${c.seed}, draws ${JSON.stringify(c.sequence)}`, () => {
      const generator = new TorchGenerator(c.seed);
      const first = generator.randn(c.sequence![0]!);
      const sameSeedFirst = single.find((s) => s.seed === c.seed && JSON.stringify(s.shape) === JSON.stringify(c.sequence![0]));
      if (sameSeedFirst?.values) expectClose(first, sameSeedFirst.values, 'first draw');
      expectClose(generator.randn(c.sequence![1]!), c.second_values!, 'second draw');
    });
  }

  it('keeps the cached second Box-Muller value between small draws, as torch\'s generator does', () => {
    const paired = new TorchGenerator(11).randn([2]);
    const split = new TorchGenerator(11);
    expect([...split.randn([1]), ...split.randn([1])]).toEqual(Array.from(paired));
  });

  it('accepts bigint seeds and uses only their low 32 bits, like manual_seed', () => {
    expect(new TorchGenerator((1n << 40n) + 42n).randn([20])).toEqual(new TorchGenerator(42).randn([20]));
  });
});
