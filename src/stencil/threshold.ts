// Grayscale -> bitmap. A pixel is ink when its value is below the threshold.
import { createBitmap, type Bitmap } from './bitmap';
import type { GrayImage } from './grayscale';
import { boxSum, summedArea } from './summed-area';

export function histogram(image: GrayImage): Float64Array {
  const h = new Float64Array(256);
  for (let i = 0; i < image.data.length; i++) h[image.data[i]]++;
  return h;
}

/**
 * Multi-level Otsu: the `count` thresholds that split the histogram into count + 1 classes with the
 * largest between-class variance. Returned ascending; class k holds values in [t[k-1], t[k]).
 * Dynamic programming over class boundaries, O(count · 256²).
 */
export function otsuThresholds(hist: Float64Array, count: number): number[] {
  const levels = hist.length;
  const w = new Float64Array(levels + 1); // prefix pixel counts
  const s = new Float64Array(levels + 1); // prefix intensity sums
  for (let v = 0; v < levels; v++) {
    w[v + 1] = w[v] + hist[v];
    s[v + 1] = s[v] + v * hist[v];
  }
  // Between-class variance is, up to constants, the sum over classes of sum² / weight.
  const score = (a: number, b: number) => {
    const weight = w[b] - w[a];
    if (weight <= 0) return 0;
    const sum = s[b] - s[a];
    return (sum * sum) / weight;
  };
  const classes = count + 1;
  // best[c][b]: best score for splitting levels [0, b) into c + 1 classes; cut[c][b]: where the last starts.
  const best = Array.from({ length: classes }, () => new Float64Array(levels + 1).fill(-Infinity));
  const cut = Array.from({ length: classes }, () => new Int32Array(levels + 1));
  for (let b = 1; b <= levels; b++) best[0][b] = score(0, b);
  for (let c = 1; c < classes; c++) {
    for (let b = c + 1; b <= levels; b++) {
      for (let a = c; a < b; a++) {
        const v = best[c - 1][a] + score(a, b);
        if (v > best[c][b]) {
          best[c][b] = v;
          cut[c][b] = a;
        }
      }
    }
  }
  const thresholds: number[] = [];
  let b = levels;
  for (let c = classes - 1; c >= 1; c--) {
    b = cut[c][b];
    thresholds.unshift(b);
  }
  return thresholds;
}

/** Otsu's automatic threshold for a black-and-white split. */
export function otsuThreshold(image: GrayImage): number {
  return otsuThresholds(histogram(image), 1)[0];
}

/** Ink where value < threshold (0 gives an all-white bitmap, 256 an all-black one). */
export function thresholdImage(image: GrayImage, threshold: number): Bitmap {
  const out = createBitmap(image.width, image.height);
  for (let i = 0; i < image.data.length; i++) out.data[i] = image.data[i] < threshold ? 1 : 0;
  return out;
}

export interface AdaptiveThresholdOptions {
  /** Half-size of the neighbourhood in pixels; it should span more than a stroke. */
  radius: number;
  /** How much darker than its neighbourhood mean a pixel must be to count as ink. */
  offset: number;
}

/** Local-mean (Bradley) threshold: follows uneven lighting that a single global threshold cannot. */
export function adaptiveThreshold(image: GrayImage, options: AdaptiveThresholdOptions): Bitmap {
  const { width, height, data } = image;
  const area = summedArea(data, width, height);
  const radius = Math.max(1, Math.round(options.radius));
  const out = createBitmap(width, height);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const { sum, count } = boxSum(area, x, y, radius);
      const i = y * width + x;
      out.data[i] = data[i] < sum / count - options.offset ? 1 : 0;
    }
  }
  return out;
}
