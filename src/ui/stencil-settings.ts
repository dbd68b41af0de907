// The stencil controls' state (kept across reloads) and the stencil module's options it stands for.
import type { StencilOptions } from '../stencil';

export interface StencilSettings {
  autoThreshold: boolean;
  threshold: number;
  adaptive: boolean;
  layers: 1 | 2 | 3;
  invert: boolean;
  fillBackground: boolean;
  despeckle: number;
  smooth: number;
  thickness: number;
  bridges: boolean;
  bridgeWidth: number;
  bridgesPerIsland: number;
  /** Islands smaller than this (px²) are filled with ink instead of bridged. */
  minIslandArea: number;
  /** Physical width of the SVG/DXF; 0 = unitless. */
  widthMm: number;
  pngWidth: number;
  /** Node cap for cutter software; 0 = none. */
  maxNodes: number;
}

export const DEFAULT_STENCIL_SETTINGS: StencilSettings = {
  autoThreshold: true,
  threshold: 128,
  adaptive: false,
  layers: 1,
  invert: false,
  fillBackground: false,
  despeckle: 16,
  smooth: 0,
  thickness: 0,
  bridges: true,
  bridgeWidth: 3,
  bridgesPerIsland: 1,
  minIslandArea: 0,
  widthMm: 0,
  pngWidth: 1024,
  maxNodes: 0,
};

export function stencilOptions(s: StencilSettings): Partial<StencilOptions> {
  return {
    threshold: s.autoThreshold ? 'auto' : s.threshold,
    adaptive: s.adaptive && s.layers === 1,
    layers: s.layers,
    invert: s.invert,
    fillBackground: s.fillBackground,
    despeckle: s.despeckle,
    smooth: s.smooth,
    thickness: s.thickness,
    bridges: s.bridges ? { width: s.bridgeWidth, perIsland: s.bridgesPerIsland, minIslandArea: s.minIslandArea } : false,
  };
}
