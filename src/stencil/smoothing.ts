import { cloneBitmap, createBitmap, type Bitmap } from './bitmap';
import { boxSum, summedArea } from './summed-area';

/**
 * Majority vote over a (2·radius + 1)² box: ragged, stair-stepped edges and one-pixel spurs straighten,
 * while shapes much wider than the box keep their outline.
 */
export function smoothEdges(bitmap: Bitmap, radius: number): Bitmap {
  const r = Math.round(radius);
  if (r <= 0) return cloneBitmap(bitmap);
  const { width, height } = bitmap;
  const area = summedArea(bitmap.data, width, height);
  const out = createBitmap(width, height);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const { sum, count } = boxSum(area, x, y, r);
      const i = y * width + x;
      // Ties keep the pixel's colour, so a straight edge does not shift by a pixel.
      out.data[i] = 2 * sum > count ? 1 : 2 * sum < count ? 0 : bitmap.data[i];
    }
  }
  return out;
}
