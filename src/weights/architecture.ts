// Which models we can run (SD 1.x / 2.x text-to-image: UNet2DConditionModel, AutoencoderKL, CLIPTextModel) and a
// plain-words error for the ones people will try that we cannot (SDXL, SD3, inpainting, depth, upscalers...).

export class UnsupportedModelError extends Error {
  constructor(
    readonly path: string,
    readonly what: string,
  ) {
    super(`${path}: ${what} is not supported; this app runs Stable Diffusion 1.x and 2.x text-to-image models`);
    this.name = 'UnsupportedModelError';
  }
}

const UNSUPPORTED_PIPELINES: [RegExp, string][] = [
  [/^StableDiffusionXL/, 'Stable Diffusion XL'],
  [/^StableDiffusion3/, 'Stable Diffusion 3'],
  [/^Flux/, 'FLUX'],
  [/Inpaint/, 'an inpainting pipeline'],
  [/^StableDiffusionDepth2Img/, 'Stable Diffusion 2 depth-to-image'],
  [/^StableDiffusionUpscale|^StableDiffusionLatentUpscale/, 'a Stable Diffusion upscaler'],
  [/^StableCascade|^Wuerstchen/, 'Stable Cascade / Würstchen'],
  [/^Kandinsky/, 'Kandinsky'],
  [/^PixArt/, 'PixArt'],
  [/^StableVideoDiffusion/, 'Stable Video Diffusion'],
];

const SUPPORTED_CLASSES: Record<string, string> = {
  unet: 'UNet2DConditionModel',
  vae: 'AutoencoderKL',
  text_encoder: 'CLIPTextModel',
};

/** Throws UnsupportedModelError for a model_index.json that names an architecture we cannot run. */
export function checkPipeline(modelIndex: Record<string, unknown>, path: string): void {
  const cls = String(modelIndex._class_name ?? '');
  for (const [pattern, what] of UNSUPPORTED_PIPELINES) {
    if (pattern.test(cls)) throw new UnsupportedModelError(path, `${what} (${cls})`);
  }
  if ('text_encoder_2' in modelIndex) throw new UnsupportedModelError(path, 'a two-text-encoder pipeline such as Stable Diffusion XL');
  if ('transformer' in modelIndex) {
    const t = modelIndex.transformer;
    const tcls = Array.isArray(t) ? String(t[1]) : 'a transformer';
    throw new UnsupportedModelError(path, `a transformer-based model (${tcls === 'SD3Transformer2DModel' ? 'Stable Diffusion 3' : tcls})`);
  }
  for (const [component, expected] of Object.entries(SUPPORTED_CLASSES)) {
    const entry = modelIndex[component];
    if (Array.isArray(entry) && entry[1] !== null && entry[1] !== expected) {
      throw new UnsupportedModelError(path, `component "${component}" of class ${String(entry[1])} (expected ${expected})`);
    }
  }
}

/** Throws UnsupportedModelError for a component config.json we cannot run. */
export function checkComponentConfig(component: string, config: Record<string, unknown>, path: string): void {
  const cls = String(config._class_name ?? (config.architectures as unknown[] | undefined)?.[0] ?? '');
  if (cls === 'SD3Transformer2DModel') throw new UnsupportedModelError(path, 'a Stable Diffusion 3 transformer (SD3Transformer2DModel)');
  if (cls === 'UNet2DConditionModel') {
    if (config.addition_embed_type === 'text_time') {
      throw new UnsupportedModelError(path, 'a Stable Diffusion XL UNet (addition_embed_type "text_time")');
    }
    if (config.addition_embed_type != null) {
      throw new UnsupportedModelError(path, `a UNet with addition_embed_type "${String(config.addition_embed_type)}"`);
    }
    if (config.class_embed_type != null || config.num_class_embeds != null) {
      throw new UnsupportedModelError(path, 'a class-conditioned UNet (an upscaler or unCLIP model)');
    }
    const inChannels = config.in_channels;
    if (inChannels === 9) throw new UnsupportedModelError(path, 'an inpainting UNet (in_channels 9: latents + mask + masked image)');
    if (inChannels === 5) throw new UnsupportedModelError(path, 'a depth-to-image UNet (in_channels 5)');
    if (inChannels === 7) throw new UnsupportedModelError(path, 'the x4 upscaler UNet (in_channels 7)');
    if (inChannels !== undefined && inChannels !== 4) {
      throw new UnsupportedModelError(path, `a UNet with in_channels ${String(inChannels)} (text-to-image needs 4)`);
    }
    return;
  }
  const expected = SUPPORTED_CLASSES[component];
  if (expected && cls && cls !== expected) {
    throw new UnsupportedModelError(path, `component "${component}" of class ${cls} (expected ${expected})`);
  }
}
