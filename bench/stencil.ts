// `npm run bench -- stencil`: a 512×512 image to cut-ready bitmap and SVG (goal: under 1 s).
import { makeStencil, traceStencil, tracedToSvg, type StencilOptions } from '../src/stencil';
import { timeMs, type Benchmark, type BenchRow } from './report';

const SIZE = 512;

/** A generated-looking test image: soft shading, strokes, rings (islands) and a little noise. */
function testImage(): Uint8Array {
  const data = new Uint8Array(SIZE * SIZE);
  let seed = 12345;
  const rand = () => ((seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) / 4294967296);
  const rings = Array.from({ length: 14 }, () => [rand() * SIZE, rand() * SIZE, 10 + rand() * 30] as const);
  for (let y = 0; y < SIZE; y++) {
    for (let x = 0; x < SIZE; x++) {
      let v = 150 + 80 * Math.sin(x / 60) * Math.cos(y / 45); // soft shading: three tone bands
      for (const [cx, cy, r] of rings) {
        const d = Math.hypot(x - cx, y - cy);
        if (d > r && d < r * 1.5) v = 25;
      }
      if (Math.abs(Math.sin((x + 2 * y) / 25)) < 0.06) v = 30; // strokes
      data[y * SIZE + x] = Math.max(0, Math.min(255, Math.round(v + (rand() - 0.5) * 30)));
    }
  }
  return data;
}

const bench: Benchmark = {
  name: 'stencil',
  summary: `${SIZE}×${SIZE} image -> bridged stencil bitmap + path-only SVG (goal < 1000 ms)`,
  async run() {
    const image = { width: SIZE, height: SIZE, data: testImage() };
    const rows: BenchRow[] = [];
    const cases: [string, Partial<StencilOptions>][] = [
      ['otsu, 1 layer', {}],
      ['adaptive, smooth 1', { adaptive: true, smooth: 1 }],
      ['3 tone layers', { layers: 3 }],
    ];
    for (const [name, options] of cases) {
      let stats = { islands: 0, bridges: 0, nodes: 0, svgKiB: 0 };
      const ms = await timeMs(async () => {
        const stencil = makeStencil(image, options);
        const traced = await traceStencil(stencil);
        const svg = tracedToSvg(traced);
        stats = {
          islands: stencil.layers.reduce((n, l) => n + l.islands.length, 0),
          bridges: stencil.layers.reduce((n, l) => n + l.bridges.length, 0),
          nodes: traced.nodes,
          svgKiB: Math.round(svg.length / 1024),
        };
      });
      rows.push({ case: name, ms, ...stats });
    }
    return rows;
  },
};

export default bench;
