import { StencilInputError } from './errors';

/** Row-major luminance, 0 = black .. 255 = white. */
export interface GrayImage {
  width: number;
  height: number;
  data: Uint8Array;
}

/** What the stencil module accepts: grayscale (1 byte per pixel) or RGBA (4 bytes per pixel). */
export interface ImageInput {
  width: number;
  height: number;
  data: Uint8Array | Uint8ClampedArray;
}

/**
 * Rec. 601 luma. Transparent pixels are composited over white: a transparent background is sheet,
 * not ink (a logo with an alpha channel would otherwise be cut away entirely).
 */
export function toGrayscale(image: ImageInput): GrayImage {
  const { width, height, data } = image;
  if (!(Number.isInteger(width) && Number.isInteger(height) && width > 0 && height > 0)) {
    throw new StencilInputError(`image size must be positive integers, got ${width}×${height}`);
  }
  const pixels = width * height;
  if (data.length === pixels) return { width, height, data: Uint8Array.from(data) };
  if (data.length !== pixels * 4) {
    throw new StencilInputError(
      `image data has ${data.length} bytes; a ${width}×${height} image needs ${pixels} (gray) or ${pixels * 4} (RGBA)`,
    );
  }
  const gray = new Uint8Array(pixels);
  for (let p = 0, i = 0; p < pixels; p++, i += 4) {
    const luma = 0.299 * data[i] + 0.587 * data[i + 1] + 0.114 * data[i + 2];
    const alpha = data[i + 3] / 255;
    gray[p] = Math.round(luma * alpha + 255 * (1 - alpha));
  }
  return { width, height, data: gray };
}
