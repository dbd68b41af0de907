// `stencil`: any image -> cut-ready stencil as SVG, DXF or PNG (see shared CLI.md).
import { readFile, writeFile } from 'node:fs/promises';
import { extname } from 'node:path';
import { Flags, parseArgs, UsageError } from '../args';
import type { Command } from '../command';
import { decodeImage, encodePng, ImageDecodeError } from '../../data/image-codec';
import {
  makeStencil,
  renderPreview,
  renderStencil,
  StencilInputError,
  traceStencil,
  tracedToDxf,
  tracedToSvg,
  TURN_POLICIES,
  type StencilOptions,
} from '../../stencil';

const FLAGS = [
  'in', 'out', 'threshold', 'adaptive', 'despeckle', 'smooth', 'thickness', 'invert', 'fill-background',
  'bridges', 'bridge-width', 'min-island', 'layers', 'width-mm', 'png-width', 'corners', 'curve-tolerance',
  'turn-policy', 'max-nodes', 'preview',
] as const;
const BOOLEAN_FLAGS = ['adaptive', 'invert', 'fill-background'];
const FORMATS = ['.svg', '.dxf', '.png'];

const stencil: Command = {
  name: 'stencil',
  summary: 'turn any image into a cut-ready stencil (SVG, DXF or PNG)',
  help: `usage: npm run stencil -- stencil --in IMAGE --out FILE.svg|.dxf|.png [flags]

Black is ink (cut away), white is the sheet that remains. Islands (white that would fall out)
get bridges so that the sheet stays one piece.

  --in FILE            PNG or JPEG to convert
  --out FILE           .svg (paths only), .dxf (closed polylines) or .png
  --threshold auto|N   ink where gray < N (0-256); auto = Otsu (default). With --layers: the
                       lightest layer's upper bound
  --adaptive           local threshold for uneven lighting (one layer only)
  --despeckle PX       drop ink specks and fill pinholes smaller than PX pixels (default 16)
  --smooth PX          smooth edges with a PX-radius majority filter (default 0)
  --thickness PX       grow (+) or shrink (-) lines by PX pixels (default 0)
  --invert             swap black and white
  --fill-background    turn ink that touches the image border into sheet
  --bridges N          bridges per island (default 1; larger islands get more; 0 = none)
  --bridge-width PX    bridge width in pixels (default 3)
  --min-island PX      fill islands smaller than PX pixels with ink instead of bridging them
  --layers 1|2|3       tone layers (dark / mid / light), each its own stencil (default 1)
  --width-mm MM        physical width of the SVG/DXF; height follows the aspect ratio
  --png-width PX       width of the PNG output (default: the stencil's own)
  --corners A          potrace corner threshold, 0 (sharp) to 1.334 (smooth), default 1
  --curve-tolerance T  potrace curve optimisation tolerance (default 0.2; 0 = off)
  --turn-policy P      ${TURN_POLICIES.join('|')} (default minority)
  --max-nodes N        cap on the nodes in the vector file, for cutter software
  --preview FILE       also write a PNG with islands (blue) and bridges (orange) marked

Images larger than 2048 px on a side are downscaled first, with a notice.`,

  async run(argv) {
    const flags = new Flags(parseArgs(argv, BOOLEAN_FLAGS), FLAGS);
    const input = flags.require('in');
    const output = flags.require('out');
    const format = extname(output).toLowerCase();
    if (!FORMATS.includes(format)) throw new UsageError(`--out must end in ${FORMATS.join(', ')}; got '${output}'`);
    const options = stencilOptions(flags);
    const trace = traceOptions(flags);
    const pngWidth = positive(flags, 'png-width');
    const preview = flags.string('preview');

    try {
      const image = await decodeImage(new Uint8Array(await readFile(input)), input);
      const result = makeStencil(image, options);
      const notices = [...result.notices];
      let summary = `${output}: ${result.width}×${result.height} px, ${result.layers.length} layer(s), ` +
        `${result.layers.reduce((n, l) => n + l.islands.length, 0)} island(s), ` +
        `${result.layers.reduce((n, l) => n + l.bridges.length, 0)} bridge(s)`;
      if (format === '.png') {
        await writeFile(output, encodePng(renderStencil(result, { width: pngWidth })));
      } else {
        const traced = await traceStencil(result, trace);
        notices.push(...traced.notices);
        await writeFile(output, format === '.svg' ? tracedToSvg(traced) : tracedToDxf(traced));
        summary += `, ${traced.nodes} nodes`;
      }
      if (preview) await writeFile(preview, encodePng(renderPreview(result)));
      if (options.bridges === false) {
        const islands = result.layers.reduce((n, l) => n + l.islands.length, 0);
        if (islands > 0) notices.push(`${islands} island(s) left unbridged (--bridges 0): they fall out when cut`);
      }
      for (const notice of notices) console.error(`note: ${notice}`);
      console.log(summary);
      return 0;
    } catch (e) {
      if (e instanceof StencilInputError || e instanceof ImageDecodeError) {
        console.error(`stencil: ${e instanceof StencilInputError ? `${input}: ` : ''}${e.message}`);
        return 2;
      }
      throw e;
    }
  },
};

function positive(flags: Flags, name: string): number | undefined {
  const v = flags.number(name);
  if (v !== undefined && !(v > 0)) throw new UsageError(`--${name} must be positive, got ${v}`);
  return v;
}

function nonNegativeInteger(flags: Flags, name: string, fallback: number): number {
  const v = flags.integer(name, fallback)!;
  if (v < 0) throw new UsageError(`--${name} must be 0 or more, got ${v}`);
  return v;
}

function stencilOptions(flags: Flags): Partial<StencilOptions> {
  const thresholdText = flags.string('threshold', 'auto');
  const threshold = thresholdText === 'auto' ? 'auto' : Number(thresholdText);
  if (threshold !== 'auto' && !(Number.isInteger(threshold) && threshold >= 0 && threshold <= 256)) {
    throw new UsageError(`--threshold must be auto or an integer 0-256, got '${thresholdText}'`);
  }
  const layers = Number(flags.choice('layers', ['1', '2', '3'] as const, '1')) as 1 | 2 | 3;
  if (flags.boolean('adaptive') && layers > 1) throw new UsageError('--adaptive works with --layers 1 only');
  const perIsland = nonNegativeInteger(flags, 'bridges', 1);
  return {
    threshold,
    layers,
    adaptive: flags.boolean('adaptive'),
    despeckle: nonNegativeInteger(flags, 'despeckle', 16),
    smooth: nonNegativeInteger(flags, 'smooth', 0),
    thickness: flags.integer('thickness', 0)!,
    invert: flags.boolean('invert'),
    fillBackground: flags.boolean('fill-background'),
    bridges:
      perIsland === 0
        ? false
        : { perIsland, width: positive(flags, 'bridge-width') ?? 3, minIslandArea: nonNegativeInteger(flags, 'min-island', 0) },
  };
}

function traceOptions(flags: Flags) {
  const corners = flags.number('corners', 1)!;
  if (corners < 0 || corners > 1.334) throw new UsageError(`--corners must be between 0 and 1.334, got ${corners}`);
  const tolerance = flags.number('curve-tolerance', 0.2)!;
  if (tolerance < 0) throw new UsageError(`--curve-tolerance must be 0 or more, got ${tolerance}`);
  return {
    widthMm: positive(flags, 'width-mm'),
    cornerThreshold: corners,
    optimizeCurves: tolerance > 0,
    curveTolerance: tolerance,
    turnPolicy: flags.choice('turn-policy', TURN_POLICIES, 'minority'),
    maxNodes: nonNegativeInteger(flags, 'max-nodes', 0),
  };
}

export default stencil;
