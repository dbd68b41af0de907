// `generate`: text-to-image (and img2img) -> PNG with the A1111 `parameters` text chunk, optionally a stencil SVG.
import { readFile, writeFile } from 'node:fs/promises';
import { basename, extname } from 'node:path';
import { Flags, parseArgs, UsageError } from '../args';
import type { Command } from '../command';
import { loadPipelineArg } from '../model-args';
import { progress } from '../progress';
import { decodeImage, encodePng, ImageDecodeError } from '../../data/image-codec';
import { createNodeEngine } from '../../engine/node';
import { nodeFile } from '../../io/node-file-source';
import { readNpy, toFloat32 } from '../../io/npy';
import { WeightLoadError } from '../../models/load';
import { GenerationCancelledError, GenerationInputError } from '../../pipelines/generation-errors';
import { NOISE_GENERATORS } from '../../pipelines/initial-noise';
import type { StableDiffusionPipeline } from '../../pipelines/load-pipeline';
import { LoraApplyError, loraModules, setLoras, type LoraToApply } from '../../pipelines/lora-apply';
import { formatParameters } from '../../pipelines/png-parameters';
import { generate as runGeneration, type GenerateOptions } from '../../pipelines/text-to-image';
import { SCHEDULER_KINDS } from '../../schedulers';
import { makeStencil, traceStencil, tracedToSvg } from '../../stencil';
import { UnsupportedModelError } from '../../weights/architecture';
import { ModelFolderError } from '../../weights/diffusers-folder';
import { LoraFileError, readLora } from '../../weights/lora-file';

const FLAGS = [
  'model', 'checkpoint', 'precision', 'lora', 'prompt', 'negative', 'style', 'scheduler', 'karras', 'eta', 'steps', 'cfg',
  'cfg-mode', 'seed', 'rng', 'width', 'height', 'images', 'init-image', 'strength', 'latents', 'out', 'stencil',
] as const;
const BOOLEAN_FLAGS = ['karras'];

const generate: Command = {
  name: 'generate',
  summary: 'text-to-image (and img2img) to a PNG with its settings, optionally a stencil SVG',
  help: `usage: npm run stencil -- generate --model DIR|FILE.safetensors --prompt TEXT --out OUT.png [flags]

  --model DIR|FILE     diffusers folder or single-file .safetensors checkpoint
  --checkpoint P       fine-tuned UNet: a diffusers unet folder (or one holding unet/), or a single file
  --precision P        auto|f16|f32 (default auto: f16 weights where the GPU has shader-f16)
  --lora FILE[:SCALE]  LoRA file (kohya or diffusers/PEFT keys), scale default 1; may repeat
  --prompt TEXT        what to draw (may be empty: unconditional)
  --negative TEXT      negative prompt (default: the style's)
  --style S            auto|stencil|sketch|none (default auto: sketch for fine-tuned checkpoints)
  --scheduler S        ${SCHEDULER_KINDS.join('|')} (default: the model's own)
  --karras             Karras sigmas (euler, dpmpp-2m)
  --eta E              DDIM eta (default 0)
  --steps N            denoising steps (default 25)
  --cfg G              guidance scale (default 7.5; <= 1 turns guidance off)
  --cfg-mode M         batch|sequential: one UNet call on both halves, or two (less memory)
  --seed N             default: random (printed and stored in the PNG)
  --rng R              ${NOISE_GENERATORS.join('|')} (default philox: identical on every device;
                       torch-cpu: the starting noise of diffusers with a CPU generator)
  --width W, --height H  multiples of 8 (default: the model's size, 512 for SD 1.5)
  --images N           images per prompt (OUT-1.png, OUT-2.png, ...)
  --init-image FILE    img2img from this image (PNG or JPEG)
  --strength S         img2img strength in (0, 1] (default 0.8)
  --latents FILE.npy   initial noise, NCHW float32 [images, 4, H/8, W/8] (diffusers' latents=)
  --out FILE.png       the image, with a "parameters" text chunk (A1111 convention)
  --stencil FILE.svg   also the stencil of the image (default stencil settings)

Ctrl-C cancels at the next step.`,

  async run(argv) {
    const flags = new Flags(parseArgs(argv, BOOLEAN_FLAGS), FLAGS);
    const modelPath = flags.require('model');
    const out = flags.require('out');
    if (extname(out).toLowerCase() !== '.png') throw new UsageError(`--out must end in .png; got '${out}'`);
    const stencilOut = flags.string('stencil');
    if (stencilOut && extname(stencilOut).toLowerCase() !== '.svg') throw new UsageError(`--stencil must end in .svg; got '${stencilOut}'`);
    const options = await generateOptions(flags);
    const precision = flags.choice('precision', ['auto', 'f16', 'f32'] as const, 'auto');
    const loraSpecs = flags.all('lora').map(parseLoraSpec);

    const engine = await createNodeEngine({ precision });
    let pipeline: StableDiffusionPipeline | undefined;
    const controller = new AbortController();
    const onInterrupt = () => controller.abort();
    process.once('SIGINT', onInterrupt);
    try {
      const loading = progress('loading');
      pipeline = await loadPipelineArg(modelPath, flags.string('checkpoint'), {
        onProgress: (component, done, total) => loading.update(done, total, component),
      });
      loading.done();
      if (loraSpecs.length) {
        const modules = loraModules(pipeline);
        const loras: LoraToApply[] = [];
        for (const spec of loraSpecs) {
          loras.push({ name: basename(spec.path).replace(/\.safetensors$/, ''), scale: spec.scale, lora: await readLora(await nodeFile(spec.path, spec.path), modules) });
        }
        await setLoras(pipeline, loras);
      }
      const bar = progress('denoising');
      const result = await runGeneration(pipeline, {
        ...options,
        signal: controller.signal,
        onProgress: (p) => bar.update(p.step, p.steps),
      });
      bar.done();
      console.log(`prompt: ${result.prompt.prompt}`);
      if (result.prompt.negative) console.log(`negative: ${result.prompt.negative}`);
      if (result.truncated.prompt) console.error(`note: the prompt is longer than 77 tokens; dropped: "${result.truncated.prompt}"`);
      if (result.truncated.negative) console.error(`note: the negative prompt is longer than 77 tokens; dropped: "${result.truncated.negative}"`);
      for (const note of result.notes) console.error(`note: ${note}`);
      const text = { parameters: formatParameters(result.parameters) };
      for (const [i, image] of result.images.entries()) {
        const png = numbered(out, i, result.images.length);
        await writeFile(png, encodePng(image, text));
        let line = `${png}: ${image.width}×${image.height}, seed ${result.seed}, ${result.timings.perStepMs.toFixed(0)} ms/step`;
        if (stencilOut) {
          const svg = numbered(stencilOut, i, result.images.length);
          await writeFile(svg, tracedToSvg(await traceStencil(makeStencil(image))));
          line += `, stencil ${svg}`;
        }
        console.log(line);
      }
      return 0;
    } catch (e) {
      if (e instanceof GenerationCancelledError) {
        console.error(`generate: ${e.message}`);
        return 1;
      }
      const badInput = [GenerationInputError, LoraFileError, LoraApplyError, ModelFolderError, UnsupportedModelError, WeightLoadError, ImageDecodeError];
      if (badInput.some((k) => e instanceof k)) {
        console.error(`generate: ${(e as Error).message}`);
        return 2;
      }
      throw e;
    } finally {
      process.off('SIGINT', onInterrupt);
      pipeline?.dispose();
      engine.dispose();
    }
  },
};

async function generateOptions(flags: Flags): Promise<Omit<GenerateOptions, 'signal' | 'onProgress'>> {
  const initImagePath = flags.string('init-image');
  const latentsPath = flags.string('latents');
  const style = flags.choice('style', ['auto', 'stencil', 'sketch', 'none'] as const, 'auto');
  const scheduler = flags.string('scheduler');
  if (scheduler !== undefined && !SCHEDULER_KINDS.includes(scheduler as never)) {
    throw new UsageError(`--scheduler must be one of ${SCHEDULER_KINDS.join(', ')}; got '${scheduler}'`);
  }
  return {
    prompt: flags.require('prompt'),
    negative: flags.string('negative'),
    style,
    scheduler: scheduler as GenerateOptions['scheduler'],
    karras: flags.boolean('karras'),
    eta: flags.number('eta'),
    steps: flags.integer('steps', 25),
    guidance: flags.number('cfg', 7.5),
    cfg: flags.choice('cfg-mode', ['batch', 'sequential'] as const, 'batch'),
    seed: flags.integer('seed'),
    rng: flags.choice('rng', NOISE_GENERATORS, 'philox'),
    width: flags.integer('width'),
    height: flags.integer('height'),
    images: flags.integer('images', 1),
    strength: flags.number('strength'),
    initImage: initImagePath ? await decodeImage(new Uint8Array(await readFile(initImagePath)), initImagePath) : undefined,
    latents: latentsPath ? toFloat32(readNpy(new Uint8Array(await readFile(latentsPath)), latentsPath)) : undefined,
  };
}

function parseLoraSpec(spec: string): { path: string; scale: number } {
  const m = /^(.*):(-?[\d.]+(?:e-?\d+)?)$/i.exec(spec);
  if (!m) return { path: spec, scale: 1 };
  const scale = Number(m[2]);
  if (!Number.isFinite(scale)) throw new UsageError(`--lora ${spec}: the scale after ':' must be a number`);
  return { path: m[1], scale };
}

/** out.png -> out-2.png for the second of several images. */
function numbered(path: string, index: number, count: number): string {
  if (count === 1) return path;
  const ext = extname(path);
  return `${path.slice(0, path.length - ext.length)}-${index + 1}${ext}`;
}

export default generate;
