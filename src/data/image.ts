// 8-bit RGBA images and the pixel operations that prepare them for the model, in plain TypeScript so the
// browser and Node produce the same bytes.

export interface RGBAImage {
  width: number;
  height: number;
  /** Row-major RGBA, 4 bytes per pixel, not premultiplied. */
  data: Uint8ClampedArray;
}

export function createImage(width: number, height: number): RGBAImage {
  return { width, height, data: new Uint8ClampedArray(width * height * 4) };
}

/** Alpha-blends every pixel over white and makes it opaque: c' = round((c·a + 255·(255 − a)) / 255). */
export function compositeOverWhite(img: RGBAImage): RGBAImage {
  const out = createImage(img.width, img.height);
  const src = img.data;
  const dst = out.data;
  for (let i = 0; i < src.length; i += 4) {
    const a = src[i + 3]!;
    const white = 255 * (255 - a);
    // +127 rounds to nearest; a quotient by 255 never lands exactly on .5.
    dst[i] = Math.floor((src[i]! * a + white + 127) / 255);
    dst[i + 1] = Math.floor((src[i + 1]! * a + white + 127) / 255);
    dst[i + 2] = Math.floor((src[i + 2]! * a + white + 127) / 255);
    dst[i + 3] = 255;
  }
  return out;
}

/**
 * torchvision `Resize(size)` (bilinear, antialiased) then `CenterCrop(size)` on a PIL image, the
 * preprocessing of diffusers' training scripts. The shorter side becomes `size`, the longer
 * `int(size * long / short)`; the crop offset is `int(round((dim - size) / 2.0))` with Python's
 * round-half-to-even.
 */
export function resizeShorterSideAndCenterCrop(img: RGBAImage, size: number): RGBAImage {
  if (!Number.isInteger(size) || size < 1) throw new RangeError(`crop size must be a positive integer, got ${size}`);
  const short = Math.min(img.width, img.height);
  const long = Math.max(img.width, img.height);
  const resizedLong = Math.trunc((size * long) / short);
  const resized =
    img.width <= img.height ? resize(img, size, resizedLong) : resize(img, resizedLong, size);
  return centerCrop(resized, size);
}

/** torchvision CenterCrop for a crop no larger than the image. */
export function centerCrop(img: RGBAImage, size: number): RGBAImage {
  if (size > img.width || size > img.height) {
    throw new RangeError(`center crop of ${size}px does not fit a ${img.width}x${img.height} image`);
  }
  const top = roundHalfEven((img.height - size) / 2);
  const left = roundHalfEven((img.width - size) / 2);
  const out = createImage(size, size);
  for (let y = 0; y < size; y++) {
    const start = ((top + y) * img.width + left) * 4;
    out.data.set(img.data.subarray(start, start + size * 4), y * size * 4);
  }
  return out;
}

function roundHalfEven(x: number): number {
  const floor = Math.floor(x);
  const fraction = x - floor;
  if (fraction !== 0.5) return Math.round(x);
  return floor % 2 === 0 ? floor : floor + 1;
}

// Pillow's fixed-point resampling (libImaging/Resample.c): coefficients in 22-bit fixed point, a
// horizontal pass into an 8-bit intermediate, then a vertical pass. Reproducing it step for step makes
// our crops byte-identical to what PIL feeds torchvision.
const PRECISION_BITS = 22;
const ONE = 1 << PRECISION_BITS;

/**
 * Pillow `Image.resize(..., BILINEAR)`: a triangle filter whose support widens by the scale factor
 * when shrinking (antialiasing), with pixel centres at +0.5 and the weights renormalised at the
 * borders. The four channels are filtered independently, so resize opaque images (Pillow would
 * premultiply alpha); composite over white first.
 */
export function resize(img: RGBAImage, width: number, height: number): RGBAImage {
  if (!Number.isInteger(width) || !Number.isInteger(height) || width < 1 || height < 1) {
    throw new RangeError(`resize target must be positive integers, got ${width}x${height}`);
  }
  let current = img;
  if (width !== current.width) current = resampleAxis(current, width, 'horizontal');
  if (height !== current.height) current = resampleAxis(current, height, 'vertical');
  return current === img ? { width: img.width, height: img.height, data: img.data.slice() } : current;
}

interface Coefficients {
  /** First source index for each output index. */
  start: Int32Array;
  /** Number of source indices for each output index. */
  count: Int32Array;
  /** Fixed-point weights, `stride` per output index. */
  weights: Int32Array;
  stride: number;
}

/** Pillow's precompute_coeffs + normalize_coeffs_8bpc for the bilinear filter (support 1). */
function bilinearCoefficients(inSize: number, outSize: number): Coefficients {
  const scale = inSize / outSize;
  const filterScale = Math.max(scale, 1);
  const support = filterScale;
  const stride = Math.ceil(support) * 2 + 1;
  const start = new Int32Array(outSize);
  const count = new Int32Array(outSize);
  const weights = new Int32Array(outSize * stride);
  const raw = new Float64Array(stride);
  const inverseFilterScale = 1 / filterScale;
  for (let xx = 0; xx < outSize; xx++) {
    const center = (xx + 0.5) * scale;
    // C's (int) cast truncates toward zero.
    const xmin = Math.max(Math.trunc(center - support + 0.5), 0);
    const xmax = Math.min(Math.trunc(center + support + 0.5), inSize) - xmin;
    let total = 0;
    for (let x = 0; x < xmax; x++) {
      const w = Math.max(1 - Math.abs((x + xmin - center + 0.5) * inverseFilterScale), 0);
      raw[x] = w;
      total += w;
    }
    for (let x = 0; x < xmax; x++) {
      const k = total !== 0 ? raw[x]! / total : raw[x]!;
      weights[xx * stride + x] = Math.trunc(0.5 + k * ONE);
    }
    start[xx] = xmin;
    count[xx] = xmax;
  }
  return { start, count, weights, stride };
}

function resampleAxis(img: RGBAImage, outSize: number, axis: 'horizontal' | 'vertical'): RGBAImage {
  const horizontal = axis === 'horizontal';
  const out = horizontal ? createImage(outSize, img.height) : createImage(img.width, outSize);
  const { start, count, weights, stride } = bilinearCoefficients(horizontal ? img.width : img.height, outSize);
  // Step between neighbouring source pixels along the axis, in bytes.
  const step = horizontal ? 4 : img.width * 4;
  const lines = horizontal ? img.height : img.width;
  const lineStep = horizontal ? img.width * 4 : 4;
  const outStep = horizontal ? 4 : out.width * 4;
  const outLineStep = horizontal ? out.width * 4 : 4;
  const src = img.data;
  const dst = out.data;
  for (let line = 0; line < lines; line++) {
    for (let o = 0; o < outSize; o++) {
      const first = line * lineStep + start[o]! * step;
      const k = o * stride;
      for (let c = 0; c < 4; c++) {
        let sum = 1 << (PRECISION_BITS - 1);
        for (let i = 0; i < count[o]!; i++) sum += src[first + i * step + c]! * weights[k + i]!;
        dst[line * outLineStep + o * outStep + c] = clip8(sum);
      }
    }
  }
  return out;
}

function clip8(fixed: number): number {
  if (fixed >= ONE * 256) return 255;
  if (fixed <= 0) return 0;
  return Math.floor(fixed / ONE);
}

/** RGB planes [3, H, W] in [-1, 1] (x / 127.5 − 1); alpha is dropped. */
export function toFloatCHW(img: RGBAImage): Float32Array {
  const plane = img.width * img.height;
  const out = new Float32Array(3 * plane);
  for (let p = 0; p < plane; p++) {
    for (let c = 0; c < 3; c++) out[c * plane + p] = img.data[p * 4 + c]! / 127.5 - 1;
  }
  return out;
}

/** RGB pixels [H, W, 3] (one NHWC batch item) in [-1, 1] (x / 127.5 − 1); alpha is dropped. */
export function toNHWCFloat(img: RGBAImage): Float32Array {
  const plane = img.width * img.height;
  const out = new Float32Array(3 * plane);
  for (let p = 0; p < plane; p++) {
    for (let c = 0; c < 3; c++) out[p * 3 + c] = img.data[p * 4 + c]! / 127.5 - 1;
  }
  return out;
}

/**
 * ITU-R 601 luma, L = R·299/1000 + G·587/1000 + B·114/1000, in Pillow's fixed-point form
 * ((R·19595 + G·38470 + B·7471 + 2^15) >> 16) so it matches `Image.convert('L')` exactly. Alpha is ignored.
 */
export function toGray(img: RGBAImage): Uint8Array {
  const out = new Uint8Array(img.width * img.height);
  const d = img.data;
  for (let p = 0; p < out.length; p++) {
    out[p] = (d[p * 4]! * 19595 + d[p * 4 + 1]! * 38470 + d[p * 4 + 2]! * 7471 + 0x8000) >>> 16;
  }
  return out;
}
