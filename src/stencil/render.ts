// Stencil -> RGBA pixels: the PNG export and the preview that highlights islands and bridges.
import type { Stencil } from './stencil';

export interface RgbaImage {
  width: number;
  height: number;
  data: Uint8ClampedArray;
}

/** Ink shade per layer, darkest first, for the composite of a multi-layer stencil. */
const LAYER_SHADES: Record<number, number[]> = { 1: [0], 2: [0, 128], 3: [0, 96, 176] };

/**
 * The stencil at `width` pixels wide (nearest neighbour, so edges stay crisp black and white). Several
 * layers are composited in gray shades; pass `layer` for one layer alone in black.
 */
export function renderStencil(stencil: Stencil, options: { width?: number; layer?: number } = {}): RgbaImage {
  const width = Math.max(1, Math.round(options.width ?? stencil.width));
  const height = Math.max(1, Math.round((width * stencil.height) / stencil.width));
  const layers = options.layer === undefined ? stencil.layers : [stencil.layers[options.layer]];
  const shades = options.layer === undefined ? LAYER_SHADES[layers.length] : [0];
  const out = new Uint8ClampedArray(width * height * 4);
  for (let y = 0; y < height; y++) {
    const sy = Math.min(stencil.height - 1, Math.floor((y * stencil.height) / height));
    for (let x = 0; x < width; x++) {
      const sx = Math.min(stencil.width - 1, Math.floor((x * stencil.width) / width));
      const p = sy * stencil.width + sx;
      let v = 255;
      for (let l = 0; l < layers.length; l++) {
        if (layers[l].bitmap.data[p]) {
          v = shades[l];
          break;
        }
      }
      const i = (y * width + x) * 4;
      out[i] = out[i + 1] = out[i + 2] = v;
      out[i + 3] = 255;
    }
  }
  return { width, height, data: out };
}

const ISLAND = [120, 180, 255];
const BRIDGE = [255, 90, 40];
const DELETED = [150, 40, 160];

/** One layer at its own size: ink black, sheet white, islands blue, bridges orange, deleted islands purple. */
export function renderPreview(stencil: Stencil, layerIndex = 0): RgbaImage {
  const layer = stencil.layers[layerIndex];
  const isIsland = new Uint8Array(layer.islands.reduce((m, i) => Math.max(m, i.label), 0) + 1);
  for (const island of layer.islands) isIsland[island.label] = 1;
  const out = new Uint8ClampedArray(stencil.width * stencil.height * 4);
  for (let p = 0; p < layer.bitmap.data.length; p++) {
    const colour = layer.bridgeMask[p]
      ? BRIDGE
      : layer.deletedMask[p]
        ? DELETED
        : layer.bitmap.data[p]
          ? [0, 0, 0]
          : isIsland[layer.islandLabels[p]]
            ? ISLAND
            : [255, 255, 255];
    out.set(colour, p * 4);
    out[p * 4 + 3] = 255;
  }
  return { width: stencil.width, height: stencil.height, data: out };
}
