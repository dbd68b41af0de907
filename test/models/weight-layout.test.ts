import { describe, expect, it } from 'vitest';
import { toOurLayout, toTorchLayout } from '../../src/models/weight-layout';

describe('weight layouts', () => {
  const values = (n: number) => Float32Array.from({ length: n }, (_, i) => i);
  it('round-trips conv, linear, 1×1-conv-as-linear and plain parameters', () => {
    for (const p of [
      { torchShape: [4, 3, 3, 2], layout: 'conv' as const },
      { torchShape: [5, 7], layout: 'linear' as const },
      { torchShape: [5, 7, 1, 1], layout: 'linear' as const },
      { torchShape: [6], layout: 'as-is' as const },
    ]) {
      const n = p.torchShape.reduce((a, b) => a * b, 1);
      const ours = toOurLayout(p, values(n));
      const back = toTorchLayout(p, ours.data);
      expect(back.shape).toEqual(p.torchShape);
      expect(Array.from(back.data)).toEqual(Array.from(values(n)));
    }
  });

  it('puts OIHW element [o,i,h,w] at HWIO [h,w,i,o]', () => {
    const p = { torchShape: [2, 3, 2, 2], layout: 'conv' as const };
    const ours = toOurLayout(p, values(24));
    expect(ours.shape).toEqual([2, 2, 3, 2]);
    // torch index of [o=1, i=2, h=0, w=1] = ((1*3+2)*2+0)*2+1 = 21; ours at [h=0,w=1,i=2,o=1] = ((0*2+1)*3+2)*2+1 = 11
    expect(ours.data[11]).toBe(21);
  });
});
