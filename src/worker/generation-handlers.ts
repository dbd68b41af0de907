// Text-to-image (and img2img) with the loaded pipeline: LoRA files merged when they change, a latent preview
// every step for the page, and each image returned as a PNG carrying its `parameters` text chunk.
import { encodePng } from '../data/image-codec';
import { blobFile } from '../io/file-source';
import { loraModules, setLoras } from '../pipelines/lora-apply';
import { formatParameters } from '../pipelines/png-parameters';
import { generate } from '../pipelines/text-to-image';
import { readLora } from '../weights/lora-file';
import { checkpointLora, selectGeneratorWeights, weightsLabel } from './generator-weights';
import type { HandlerContext } from './handler-context';
import type { GenerateOutput, GenerateParams } from './messages';
import { loadedModel } from './model-loader';
import { openedImage } from './stencil-handlers';

/** The LoRA set merged now, so an unchanged set is not merged again on every run. */
let mergedKey = '';

async function applyLoras(params: GenerateParams): Promise<void> {
  const { pipeline } = loadedModel();
  const checkpoint = checkpointLora();
  const key = JSON.stringify([checkpoint?.name, ...params.loras.map((l) => [l.file.name, l.file.size, l.file.lastModified, l.scale])]);
  if (pipeline.loras === undefined && params.loras.length === 0 && !checkpoint) return;
  if (key === mergedKey && pipeline.loras !== undefined) return;
  const modules = loraModules(pipeline);
  const files = await Promise.all(
    params.loras.map(async (l) => ({ name: l.file.name.replace(/\.safetensors$/, ''), scale: l.scale, lora: await readLora(blobFile(l.file, l.file.name), modules) })),
  );
  await setLoras(pipeline, checkpoint ? [checkpoint, ...files] : files);
  mergedKey = key;
}

export async function generateImages(params: GenerateParams, ctx: HandlerContext): Promise<GenerateOutput> {
  await selectGeneratorWeights(params.checkpointId, ctx);
  const { pipeline, weights } = loadedModel();
  await applyLoras(params);
  const result = await generate(pipeline, {
    prompt: params.prompt,
    negative: params.negative,
    style: params.style,
    scheduler: params.scheduler,
    karras: params.karras,
    steps: params.steps,
    guidance: params.guidance,
    seed: params.seed,
    rng: params.rng,
    width: params.width,
    height: params.height,
    images: params.images,
    initImage: params.initImageId === undefined ? undefined : openedImage(params.initImageId),
    strength: params.initImageId === undefined ? undefined : params.strength,
    previewEvery: 1,
    signal: ctx.signal,
    onProgress: (p) =>
      ctx.progress(p.step, p.steps, `step ${p.step} of ${p.steps}`, {
        itPerSec: p.itPerSec,
        preview: p.preview && { width: p.preview.width, height: p.preview.height, data: p.preview.data },
      }),
  });
  const parameters = formatParameters(result.parameters);
  return {
    images: result.images.map((image) => ({ width: image.width, height: image.height, png: encodePng(image, { parameters }) })),
    parameters,
    prompt: result.prompt.prompt,
    negative: result.prompt.negative,
    seed: result.seed,
    weights: weightsLabel(weights),
    notes: [
      ...result.notes,
      ...(result.truncated.prompt ? [`The prompt is longer than 77 tokens; dropped: "${result.truncated.prompt}"`] : []),
      ...(result.truncated.negative ? [`The negative prompt is longer than 77 tokens; dropped: "${result.truncated.negative}"`] : []),
    ],
    perStepMs: result.timings.perStepMs,
  };
}
