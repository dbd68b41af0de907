// Clean-up passes on a bitmap. Each returns a new bitmap and leaves its input alone.
import { cloneBitmap, type Bitmap } from './bitmap';
import { labelComponents } from './components';

/** Ink specks (8-connected) smaller than `minArea` pixels become sheet. */
export function removeSpecks(bitmap: Bitmap, minArea: number): Bitmap {
  const out = cloneBitmap(bitmap);
  if (minArea <= 1) return out;
  const ink = labelComponents(bitmap, 1, 8);
  for (let i = 0; i < out.data.length; i++) {
    const label = ink.labels[i];
    if (label !== 0 && ink.area[label] < minArea) out.data[i] = 0;
  }
  return out;
}

/**
 * Enclosed white pinholes (4-connected, not touching the border) smaller than `minArea` pixels become ink:
 * too small to bridge, they would only fall out of the cut stencil.
 */
export function fillPinholes(bitmap: Bitmap, minArea: number): Bitmap {
  const out = cloneBitmap(bitmap);
  if (minArea <= 1) return out;
  const sheet = labelComponents(bitmap, 0, 4);
  for (let i = 0; i < out.data.length; i++) {
    const label = sheet.labels[i];
    if (label !== 0 && !sheet.touchesBorder[label] && sheet.area[label] < minArea) out.data[i] = 1;
  }
  return out;
}

/** Swaps ink and sheet. */
export function invert(bitmap: Bitmap): Bitmap {
  const out = cloneBitmap(bitmap);
  for (let i = 0; i < out.data.length; i++) out.data[i] ^= 1;
  return out;
}

/**
 * Fills the background with sheet: ink regions that reach the image border (a dark backdrop behind the
 * subject) become white, so only the subject is cut.
 */
export function fillBackground(bitmap: Bitmap): Bitmap {
  const out = cloneBitmap(bitmap);
  const ink = labelComponents(bitmap, 1, 8);
  for (let i = 0; i < out.data.length; i++) {
    if (ink.labels[i] !== 0 && ink.touchesBorder[ink.labels[i]]) out.data[i] = 0;
  }
  return out;
}
