import { createBitmap, type Bitmap } from './bitmap';
import { squaredDistanceTo } from './distance-transform';

/**
 * Grows ink by `pixels` (positive) or shrinks it (negative) with a round brush: a pixel turns ink when it
 * lies within that distance of ink, or turns sheet when within it of sheet. Round, so corners do not
 * square off the way a box dilation would.
 */
export function changeThickness(bitmap: Bitmap, pixels: number): Bitmap {
  const { width, height, data } = bitmap;
  if (pixels === 0) return { width, height, data: data.slice() };
  const grow = pixels > 0;
  const reach = pixels * pixels;
  const dist = squaredDistanceTo(width, height, (i) => data[i] === (grow ? 1 : 0));
  const out = createBitmap(width, height);
  for (let i = 0; i < data.length; i++) {
    out.data[i] = dist[i] <= reach ? (grow ? 1 : 0) : data[i];
  }
  return out;
}
