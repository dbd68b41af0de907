// Synthetic test images, drawn in code.
import type { Bitmap } from '../../src/stencil/bitmap';
import type { GrayImage } from '../../src/stencil/grayscale';

export function grayImage(width: number, height: number, fill = 255): GrayImage {
  return { width, height, data: new Uint8Array(width * height).fill(fill) };
}

export function paint(img: GrayImage, value: number, inside: (x: number, y: number) => boolean): GrayImage {
  for (let y = 0; y < img.height; y++) {
    for (let x = 0; x < img.width; x++) if (inside(x, y)) img.data[y * img.width + x] = value;
  }
  return img;
}

export const disc = (cx: number, cy: number, r: number) => (x: number, y: number) => (x - cx) ** 2 + (y - cy) ** 2 <= r * r;
export const ring = (cx: number, cy: number, inner: number, outer: number) => (x: number, y: number) => {
  const d2 = (x - cx) ** 2 + (y - cy) ** 2;
  return d2 <= outer * outer && d2 > inner * inner;
};
export const rect = (x0: number, y0: number, x1: number, y1: number) => (x: number, y: number) =>
  x >= x0 && x < x1 && y >= y0 && y < y1;

/** Bitmap (1 = ink) from a predicate. */
export function bitmapOf(width: number, height: number, ink: (x: number, y: number) => boolean): Bitmap {
  const data = new Uint8Array(width * height);
  for (let y = 0; y < height; y++) for (let x = 0; x < width; x++) data[y * width + x] = ink(x, y) ? 1 : 0;
  return { width, height, data };
}

export const any = (...fs: ((x: number, y: number) => boolean)[]) => (x: number, y: number) => fs.some((f) => f(x, y));

/** Deterministic pseudo-random numbers (mulberry32). */
export function random(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Standard normal via Box-Muller. */
export function normal(rand: () => number): number {
  return Math.sqrt(-2 * Math.log(1 - rand())) * Math.cos(2 * Math.PI * rand());
}

/** Count of 4-connected white regions, computed independently of the module (simple BFS). */
export function whiteRegions(b: Bitmap): number {
  const seen = new Uint8Array(b.data.length);
  let regions = 0;
  for (let s = 0; s < b.data.length; s++) {
    if (b.data[s] !== 0 || seen[s]) continue;
    regions++;
    const queue = [s];
    seen[s] = 1;
    while (queue.length) {
      const p = queue.pop()!;
      const x = p % b.width;
      const y = Math.floor(p / b.width);
      for (const [nx, ny] of [[x - 1, y], [x + 1, y], [x, y - 1], [x, y + 1]]) {
        if (nx < 0 || ny < 0 || nx >= b.width || ny >= b.height) continue;
        const q = ny * b.width + nx;
        if (b.data[q] === 0 && !seen[q]) {
          seen[q] = 1;
          queue.push(q);
        }
      }
    }
  }
  return regions;
}

export const inkCount = (b: Bitmap) => b.data.reduce((s, v) => s + v, 0);
