// The stencil module in the worker: decoded images are kept by id so that every slider move sends only
// options, and the last stencil is reused when the user exports what the preview shows.
import { decodeImage, encodePng } from '../data/image-codec';
import type { RGBAImage } from '../data/image';
import { makeStencil, renderPreview, renderStencil, stencilToSvg, traceStencil, tracedToDxf, type Stencil, type StencilOptions } from '../stencil';
import type { OpenedImage, StencilExport, StencilExportParams, StencilPreview } from './messages';

const images = new Map<number, RGBAImage>();
let nextImageId = 1;
let last: { key: string; stencil: Stencil } | undefined;

export async function openImage(file: Blob, name: string): Promise<OpenedImage> {
  const image = await decodeImage(new Uint8Array(await file.arrayBuffer()), name);
  const id = nextImageId++;
  images.set(id, image);
  return { id, name, width: image.width, height: image.height };
}

/** An opened image (the img2img start image). */
export function openedImage(id: number): RGBAImage {
  const image = images.get(id);
  if (!image) throw new Error(`image ${id} is no longer open; open it again`);
  return image;
}

function stencilOf(imageId: number, options: Partial<StencilOptions>): Stencil {
  const image = openedImage(imageId);
  const key = JSON.stringify([imageId, options]);
  if (last?.key !== key) last = { key, stencil: makeStencil(image, options) };
  return last.stencil;
}

export function stencilPreview(imageId: number, options: Partial<StencilOptions>, layer: number): StencilPreview {
  const stencil = stencilOf(imageId, options);
  const shown = Math.min(Math.max(0, layer), stencil.layers.length - 1);
  return {
    width: stencil.width,
    height: stencil.height,
    preview: renderPreview(stencil, shown).data,
    composite: renderStencil(stencil).data,
    layers: stencil.layers.map((l) => ({
      name: l.name,
      lower: l.lower,
      upper: l.upper,
      islands: l.islands.length,
      bridges: l.bridges.length,
      deletedIslands: l.deletedIslands.length,
    })),
    notices: stencil.notices,
  };
}

export async function exportStencil(p: StencilExportParams): Promise<StencilExport> {
  const stencil = stencilOf(p.imageId, p.options);
  const settings = JSON.stringify({ ...p.options, widthMm: p.widthMm });
  if (p.format === 'png') {
    const rendered = renderStencil(stencil, { width: p.pngWidth });
    // The settings travel with the file, as the generator's PNGs carry their parameters.
    const data = encodePng(rendered, { Software: 'Stencil Diffusion', stencil: settings });
    return { data, mime: 'image/png', notices: stencil.notices };
  }
  const vector = { ...p.trace, widthMm: p.widthMm };
  if (p.format === 'svg') {
    return { data: new TextEncoder().encode(await stencilToSvg(stencil, vector)), mime: 'image/svg+xml', notices: stencil.notices };
  }
  const traced = await traceStencil(stencil, vector);
  return { data: new TextEncoder().encode(tracedToDxf(traced)), mime: 'application/dxf', notices: [...stencil.notices, ...traced.notices] };
}
