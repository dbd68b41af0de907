// Stencil module API: image -> stencil bitmaps (islands, bridges, layers) -> SVG / DXF / PNG pixels.
// Used by the generator, the app and the CLI. Black = ink = cut away; white = the sheet that remains.
export type { Bitmap } from './bitmap';
export { DEFAULT_BRIDGE_OPTIONS, type Bridge, type BridgeOptions } from './bridges';
export { StencilInputError } from './errors';
export type { GrayImage, ImageInput } from './grayscale';
export type { Island } from './islands';
export type { LayerName } from './layers';
export type { Contour, Segment, Shape } from './path-geometry';
export type { AdaptiveThresholdOptions } from './threshold';
export { DEFAULT_TRACE_OPTIONS, TURN_POLICIES, type TraceOptions, type TurnPolicy } from './vectorize';
export { makeStencil, DEFAULT_STENCIL_OPTIONS, MIN_SIDE, type Stencil, type StencilLayer, type StencilOptions } from './stencil';
export { traceStencil, tracedToSvg, tracedToDxf, stencilToSvg, type TracedStencil, type VectorOptions } from './export';
export { renderStencil, renderPreview, type RgbaImage } from './render';
