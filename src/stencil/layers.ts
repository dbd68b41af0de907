// Tone layers: disjoint bands of the grayscale, darkest first. Their union is the image thresholded at the
// lightest band's upper bound; everything lighter stays sheet in every layer.
import { createBitmap, type Bitmap } from './bitmap';
import type { GrayImage } from './grayscale';
import { histogram, otsuThresholds } from './threshold';

export const LAYER_NAMES = [['ink'], ['dark', 'light'], ['dark', 'mid', 'light']] as const;
export type LayerName = (typeof LAYER_NAMES)[number][number];

export interface ToneBand {
  name: LayerName;
  /** Gray values in [lower, upper) are ink in this band. */
  lower: number;
  upper: number;
  bitmap: Bitmap;
}

/**
 * Splits `image` into `count` bands. `upperBounds` (ascending, one per band) sets them by hand; otherwise
 * multi-level Otsu picks them with one more class for the sheet.
 */
export function toneBands(image: GrayImage, count: 1 | 2 | 3, upperBounds?: number[]): ToneBand[] {
  const bounds = upperBounds ?? otsuThresholds(histogram(image), count);
  if (bounds.length !== count || bounds.some((b, i) => i > 0 && b <= bounds[i - 1])) {
    throw new RangeError(`need ${count} ascending band bounds, got [${bounds.join(', ')}]`);
  }
  const names = LAYER_NAMES[count - 1];
  const bands = bounds.map((upper, i) => ({
    name: names[i],
    lower: i === 0 ? 0 : bounds[i - 1],
    upper,
    bitmap: createBitmap(image.width, image.height),
  }));
  for (let p = 0; p < image.data.length; p++) {
    const v = image.data[p];
    for (let i = 0; i < count; i++) {
      if (v < bounds[i]) {
        bands[i].bitmap.data[p] = 1;
        break;
      }
    }
  }
  return bands;
}
