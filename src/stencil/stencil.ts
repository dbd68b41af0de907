// Image -> stencil bitmaps: threshold or tone bands, clean-up, then islands and bridges for each layer.
import { countInk, type Bitmap } from './bitmap';
import { bridgeIslands, type Bridge, type BridgeOptions } from './bridges';
import { fillBackground, fillPinholes, invert, removeSpecks } from './cleanup';
import { StencilInputError } from './errors';
import { toGrayscale, type GrayImage, type ImageInput } from './grayscale';
import { findIslands, type Island } from './islands';
import { toneBands, type LayerName } from './layers';
import { downscaleToFit } from './resize';
import { smoothEdges } from './smoothing';
import { changeThickness } from './thickness';
import { adaptiveThreshold, histogram, otsuThresholds, type AdaptiveThresholdOptions } from './threshold';

/** Smaller images hold too little to cut. */
export const MIN_SIDE = 16;

export interface StencilOptions {
  /** 'auto' = Otsu. One layer: ink where gray < threshold. Several: the lightest band's upper bound. */
  threshold: 'auto' | number;
  /** Local threshold for uneven lighting (one layer only); overrides `threshold`. true = defaults. */
  adaptive: boolean | AdaptiveThresholdOptions;
  /** Tone layers (dark / mid / light), each its own stencil. */
  layers: 1 | 2 | 3;
  invert: boolean;
  fillBackground: boolean;
  /** Edge smoothing radius in pixels (0 = off). */
  smooth: number;
  /** Grow (+) or shrink (−) ink by this many pixels. */
  thickness: number;
  /** Ink specks and enclosed white pinholes smaller than this many pixels vanish. */
  despeckle: number;
  /** false leaves islands as they are (they are still reported). */
  bridges: false | Partial<BridgeOptions>;
  /** Larger images are downscaled to this longest side first, with a notice. */
  maxSide: number;
}

export const DEFAULT_STENCIL_OPTIONS: StencilOptions = {
  threshold: 'auto',
  adaptive: false,
  layers: 1,
  invert: false,
  fillBackground: false,
  smooth: 0,
  thickness: 0,
  despeckle: 16,
  bridges: {},
  maxSide: 2048,
};

export interface StencilLayer {
  name: LayerName;
  /** Gray values in [lower, upper) were ink in this layer before clean-up (threshold layers: [0, t)). */
  lower: number;
  upper: number;
  /** The cut-ready bitmap, bridges included. */
  bitmap: Bitmap;
  /** Islands found after clean-up (labels index `islandLabels`), bridged unless bridging was off. */
  islands: Island[];
  islandLabels: Int32Array;
  bridges: Bridge[];
  /** 1 where a bridge turned ink into sheet. */
  bridgeMask: Uint8Array;
  /** Islands too small to bridge, filled with ink instead, and their pixels. */
  deletedIslands: Island[];
  deletedMask: Uint8Array;
}

export interface Stencil {
  width: number;
  height: number;
  gray: GrayImage;
  layers: StencilLayer[];
  /** Things the user should know (downscaling, empty layers). */
  notices: string[];
}

/** A neighbourhood of about 1/32 of the image spans a stroke yet still follows the lighting. */
function adaptiveDefaults(gray: GrayImage): AdaptiveThresholdOptions {
  return { radius: Math.max(8, Math.round(Math.max(gray.width, gray.height) / 32)), offset: 10 };
}

function validate(o: StencilOptions): void {
  if (![1, 2, 3].includes(o.layers)) throw new StencilInputError(`layers must be 1, 2 or 3, got ${o.layers}`);
  if (o.threshold !== 'auto' && !(Number.isInteger(o.threshold) && o.threshold >= 0 && o.threshold <= 256)) {
    throw new StencilInputError(`threshold must be 'auto' or an integer 0–256, got ${o.threshold}`);
  }
  if (o.adaptive && o.layers > 1) throw new StencilInputError('adaptive threshold works with one layer only');
  if (o.threshold !== 'auto' && o.layers > 1 && o.threshold < o.layers) {
    throw new StencilInputError(`threshold ${o.threshold} leaves no room for ${o.layers} tone bands`);
  }
}

/** Upper bounds of the tone bands: Otsu, or Otsu below a manual lightest bound. */
function bandBounds(gray: GrayImage, o: StencilOptions): number[] {
  const hist = histogram(gray);
  if (o.threshold === 'auto') return otsuThresholds(hist, o.layers);
  if (o.layers === 1) return [o.threshold];
  return [...otsuThresholds(hist.subarray(0, o.threshold), o.layers - 1), o.threshold];
}

function cleanUp(bitmap: Bitmap, o: StencilOptions): Bitmap {
  let b = bitmap;
  if (o.invert) b = invert(b);
  if (o.fillBackground) b = fillBackground(b);
  if (o.smooth > 0) b = smoothEdges(b, o.smooth);
  if (o.thickness !== 0) b = changeThickness(b, o.thickness);
  if (o.despeckle > 1) b = fillPinholes(removeSpecks(b, o.despeckle), o.despeckle);
  return b;
}

export function makeStencil(image: ImageInput, options: Partial<StencilOptions> = {}): Stencil {
  const o = { ...DEFAULT_STENCIL_OPTIONS, ...options };
  validate(o);
  let gray = toGrayscale(image);
  if (gray.width < MIN_SIDE || gray.height < MIN_SIDE) {
    throw new StencilInputError(`image is ${gray.width}×${gray.height} px; a stencil needs at least ${MIN_SIDE}×${MIN_SIDE} px`);
  }
  const notices: string[] = [];
  if (Math.max(gray.width, gray.height) > o.maxSide) {
    const from = `${gray.width}×${gray.height}`;
    gray = downscaleToFit(gray, o.maxSide);
    notices.push(`image downscaled from ${from} to ${gray.width}×${gray.height} px (longest side limit ${o.maxSide})`);
  }
  let lo = 255;
  let hi = 0;
  for (const v of gray.data) {
    if (v < lo) lo = v;
    if (v > hi) hi = v;
  }
  if (lo === hi) throw new StencilInputError(`nothing to cut: the image is one flat tone (gray ${lo})`);

  const bands = o.adaptive
    ? [{ name: 'ink' as const, lower: 0, upper: 256, bitmap: adaptiveThreshold(gray, o.adaptive === true ? adaptiveDefaults(gray) : o.adaptive) }]
    : toneBands(gray, o.layers, bandBounds(gray, o));
  const cleaned = bands.map((band) => ({ ...band, bitmap: cleanUp(band.bitmap, o) }));

  const union = new Uint8Array(gray.width * gray.height);
  for (const band of cleaned) for (let i = 0; i < union.length; i++) union[i] |= band.bitmap.data[i];
  const ink = countInk({ ...gray, data: union });
  const at = o.adaptive ? 'with the adaptive threshold' : `at threshold ${cleaned[cleaned.length - 1].upper}`;
  if (ink === 0) throw new StencilInputError(`nothing to cut: the stencil is all white ${at} (raise the threshold or invert)`);
  if (ink === union.length) {
    throw new StencilInputError(`nothing to cut: the stencil is all black ${at}; the whole sheet would be cut away (lower the threshold or invert)`);
  }

  const layers = cleaned.map((band): StencilLayer => {
    if (countInk(band.bitmap) === 0) notices.push(`layer '${band.name}' is empty`);
    if (o.bridges === false) {
      const map = findIslands(band.bitmap);
      const none = new Uint8Array(union.length);
      const noBridges = { bridges: [], bridgeMask: none, deletedIslands: [], deletedMask: none };
      return { ...band, islands: map.islands, islandLabels: map.labels, ...noBridges };
    }
    const bridged = bridgeIslands(band.bitmap, o.bridges);
    return {
      ...band,
      bitmap: bridged.bitmap,
      islands: bridged.islandMap.islands,
      islandLabels: bridged.islandMap.labels,
      bridges: bridged.bridges,
      bridgeMask: bridged.mask,
      deletedIslands: bridged.deleted,
      deletedMask: bridged.deletedMask,
    };
  });
  return { width: gray.width, height: gray.height, gray, layers, notices };
}
