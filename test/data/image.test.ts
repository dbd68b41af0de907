import { describe, expect, it } from 'vitest';
import {
  centerCrop,
  compositeOverWhite,
  createImage,
  resize,
  resizeShorterSideAndCenterCrop,
  toFloatCHW,
  toGray,
  toNHWCFloat,
  type RGBAImage,
} from '../../src/data/image';

function draw(width: number, height: number, pixel: (x: number, y: number) => [number, number, number, number]): RGBAImage {
  const img = createImage(width, height);
  for (let y = 0; y < height; y++) for (let x = 0; x < width; x++) img.data.set(pixel(x, y), (y * width + x) * 4);
  return img;
}

const gradient = (w: number, h: number) =>
  draw(w, h, (x, y) => [Math.round((255 * x) / (w - 1)), Math.round((255 * y) / (h - 1)), (x * 7 + y * 13) % 256, 255]);
const checkerboard = (w: number, h: number, cell: number) =>
  draw(w, h, (x, y) => ((Math.floor(x / cell) + Math.floor(y / cell)) % 2 ? [255, 40, 0, 255] : [0, 200, 255, 255]));

/**
 * Float64 reference for one axis of an antialiased bilinear resize, straight from the definition:
 * output pixel i samples the input around centre c = (i + 0.5)·in/out with the triangle kernel
 * widened to the scale factor when shrinking, weights normalised over the pixels inside the image.
 */
function referenceAxis(values: (i: number) => number, inSize: number, outSize: number): number[] {
  const scale = inSize / outSize;
  const width = Math.max(scale, 1);
  const out: number[] = [];
  for (let i = 0; i < outSize; i++) {
    const centre = (i + 0.5) * scale;
    let sum = 0;
    let total = 0;
    for (let j = 0; j < inSize; j++) {
      const w = Math.max(0, 1 - Math.abs((j + 0.5 - centre) / width));
      sum += w * values(j);
      total += w;
    }
    out.push(sum / total);
  }
  return out;
}

function referenceResize(img: RGBAImage, width: number, height: number): Float64Array {
  const rows: number[][][] = [];
  for (let y = 0; y < img.height; y++) {
    rows.push([0, 1, 2, 3].map((c) => referenceAxis((x) => img.data[(y * img.width + x) * 4 + c]!, img.width, width)));
  }
  const out = new Float64Array(width * height * 4);
  for (let c = 0; c < 4; c++) {
    for (let x = 0; x < width; x++) {
      const column = referenceAxis((y) => rows[y]![c]![x]!, img.height, height);
      for (let y = 0; y < height; y++) out[(y * width + x) * 4 + c] = column[y]!;
    }
  }
  return out;
}

/** Python 3 round(): halves go to the even neighbour. */
function pythonRound(x: number): number {
  const floor = Math.floor(x);
  if (x - floor !== 0.5) return Math.round(x);
  return floor % 2 === 0 ? floor : floor + 1;
}

describe('compositeOverWhite', () => {
  it('blends over white and makes every pixel opaque', () => {
    const img = draw(4, 1, (x) => [200, 100, 0, [0, 255, 128, 17][x]!]);
    const out = compositeOverWhite(img);
    for (let x = 0; x < 4; x++) {
      const a = img.data[x * 4 + 3]! / 255;
      for (let c = 0; c < 3; c++) {
        const expected = img.data[x * 4 + c]! * a + 255 * (1 - a);
        expect(Math.abs(out.data[x * 4 + c]! - expected)).toBeLessThanOrEqual(0.5);
      }
      expect(out.data[x * 4 + 3]).toBe(255);
    }
    expect(Array.from(out.data.subarray(0, 3))).toEqual([255, 255, 255]);
    expect(Array.from(out.data.subarray(4, 7))).toEqual([200, 100, 0]);
  });
});

describe('resize', () => {
  // Pillow's 8-bit intermediate and final rounding each cost at most half a level: ±1 overall.
  const TOLERANCE = 1;
  const cases: [string, RGBAImage, number, number][] = [
    ['gradient shrink', gradient(37, 23), 16, 11],
    ['checkerboard shrink by a non-integer factor', checkerboard(50, 41, 3), 17, 13],
    ['gradient enlarge', gradient(7, 5), 19, 12],
    ['checkerboard shrink one axis, enlarge the other', checkerboard(30, 6, 2), 11, 9],
  ];
  for (const [label, img, width, height] of cases) {
    it(`matches the float64 definition within ±${TOLERANCE}: ${label}`, () => {
      const out = resize(img, width, height);
      expect([out.width, out.height]).toEqual([width, height]);
      const reference = referenceResize(img, width, height);
      let worst = 0;
      for (let i = 0; i < reference.length; i++) worst = Math.max(worst, Math.abs(out.data[i]! - reference[i]!));
      expect(worst).toBeLessThanOrEqual(TOLERANCE);
    });
  }

  it('returns an equal copy when the size does not change', () => {
    const img = checkerboard(9, 5, 2);
    const out = resize(img, 9, 5);
    expect(out.data).toEqual(img.data);
    expect(out.data).not.toBe(img.data);
  });
});

describe('centerCrop', () => {
  // Each pixel stores its own coordinates, so the crop's first pixel reveals the offset.
  const coordinates = (w: number, h: number) => draw(w, h, (x, y) => [x, y, 0, 255]);
  const offset = (img: RGBAImage) => [img.data[0], img.data[1]];

  it('rounds half offsets to even, like Python round()', () => {
    // (25 - 16) / 2 = 4.5 -> 4; (27 - 16) / 2 = 5.5 -> 6; (21 - 16) / 2 = 2.5 -> 2; (23 - 16) / 2 = 3.5 -> 4.
    expect(offset(centerCrop(coordinates(25, 27), 16))).toEqual([4, 6]);
    expect(offset(centerCrop(coordinates(21, 23), 16))).toEqual([2, 4]);
    expect(offset(centerCrop(coordinates(20, 16), 16))).toEqual([2, 0]);
  });

  it('copies whole rows of the window', () => {
    const out = centerCrop(coordinates(9, 7), 3);
    for (let y = 0; y < 3; y++) for (let x = 0; x < 3; x++) expect(Array.from(out.data.subarray((y * 3 + x) * 4, (y * 3 + x) * 4 + 2))).toEqual([3 + x, 2 + y]);
  });
});

describe('resizeShorterSideAndCenterCrop', () => {
  it('scales the shorter side to size, the longer to int(size * long / short), then crops the centre', () => {
    for (const [w, h, size] of [[37, 23, 16], [23, 37, 16], [64, 48, 20], [10, 10, 4]] as const) {
      const img = gradient(w, h);
      const long = Math.trunc((size * Math.max(w, h)) / Math.min(w, h));
      const [rw, rh] = w <= h ? [size, long] : [long, size];
      const expected = centerCrop(resize(img, rw, rh), size);
      const out = resizeShorterSideAndCenterCrop(img, size);
      expect([out.width, out.height]).toEqual([size, size]);
      expect(out.data).toEqual(expected.data);

      const reference = referenceResize(img, rw, rh);
      const left = pythonRound((rw - size) / 2);
      const top = pythonRound((rh - size) / 2);
      let worst = 0;
      for (let y = 0; y < size; y++) {
        for (let x = 0; x < size; x++) {
          for (let c = 0; c < 3; c++) {
            const ref = reference[((y + top) * rw + x + left) * 4 + c]!;
            worst = Math.max(worst, Math.abs(out.data[(y * size + x) * 4 + c]! - ref));
          }
        }
      }
      expect(worst).toBeLessThanOrEqual(1);
    }
  });

  it('leaves an image that is already size x size untouched', () => {
    const img = checkerboard(12, 12, 5);
    expect(resizeShorterSideAndCenterCrop(img, 12).data).toEqual(img.data);
  });
});

describe('pixel conversions', () => {
  const img = draw(3, 2, (x, y) => [x * 100, y * 255, 127, 9]);

  it('maps RGB to [-1, 1] as x / 127.5 - 1 in CHW and HWC order, dropping alpha', () => {
    const chw = toFloatCHW(img);
    const hwc = toNHWCFloat(img);
    expect(chw.length).toBe(18);
    expect(hwc.length).toBe(18);
    for (let y = 0; y < 2; y++) {
      for (let x = 0; x < 3; x++) {
        for (let c = 0; c < 3; c++) {
          const expected = Math.fround(img.data[(y * 3 + x) * 4 + c]! / 127.5 - 1);
          expect(chw[c * 6 + y * 3 + x]).toBe(expected);
          expect(hwc[(y * 3 + x) * 3 + c]).toBe(expected);
        }
      }
    }
    expect(Math.min(...chw)).toBe(-1);
    expect(Math.max(...chw)).toBe(1);
  });

  it('computes ITU-R 601 luma within rounding, and keeps grey pixels exact', () => {
    const colours = draw(16, 16, (x, y) => [x * 17, y * 16, (x * y * 5) % 256, 255]);
    const gray = toGray(colours);
    for (let p = 0; p < 256; p++) {
      const [r, g, b] = colours.data.subarray(p * 4, p * 4 + 3);
      const exact = (r! * 299) / 1000 + (g! * 587) / 1000 + (b! * 114) / 1000;
      expect(Math.abs(gray[p]! - exact)).toBeLessThanOrEqual(0.51);
    }
    const greys = draw(256, 1, (x) => [x, x, x, 255]);
    expect(Array.from(toGray(greys))).toEqual(Array.from({ length: 256 }, (_, i) => i));
  });
});
