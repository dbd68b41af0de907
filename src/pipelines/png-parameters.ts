// Generation settings as the A1111 `parameters` PNG text chunk (what image viewers and other SD tools read):
//   <prompt>\nNegative prompt: <negative>\nSteps: 20, Sampler: ..., CFG scale: 7.5, Seed: 42, Size: 512x512, ...
export interface GenerationParameters {
  prompt: string;
  negative: string;
  steps: number;
  scheduler: string;
  cfg: number;
  seed: number;
  rng: string;
  width: number;
  height: number;
  model: string;
  checkpoint?: string;
  strength?: number;
  loras?: string[];
}

const SAMPLER_NAMES: Record<string, string> = {
  pndm: 'PLMS',
  ddim: 'DDIM',
  euler: 'Euler',
  'euler-a': 'Euler a',
  'dpmpp-2m': 'DPM++ 2M',
  'dpmpp-2m-karras': 'DPM++ 2M Karras',
  ddpm: 'DDPM',
};

export function formatParameters(p: GenerationParameters): string {
  const fields: [string, string | number][] = [
    ['Steps', p.steps],
    ['Sampler', SAMPLER_NAMES[p.scheduler] ?? p.scheduler],
    ['CFG scale', p.cfg],
    ['Seed', p.seed],
    ['RNG', p.rng],
    ['Size', `${p.width}x${p.height}`],
    ['Model', p.model],
  ];
  if (p.checkpoint) fields.push(['Checkpoint', p.checkpoint]);
  if (p.strength !== undefined) fields.push(['Denoising strength', p.strength]);
  if (p.loras?.length) fields.push(['LoRA', p.loras.join(' ')]);
  const settings = fields.map(([k, v]) => `${k}: ${String(v).replace(/[,\n]/g, ' ')}`).join(', ');
  return `${p.prompt}\n${p.negative ? `Negative prompt: ${p.negative}\n` : ''}${settings}`;
}

/** Reads back what formatParameters wrote (and the common fields of A1111's own files). */
export function parseParameters(text: string): Partial<GenerationParameters> & { settings: Record<string, string> } {
  const lines = text.split('\n');
  const settingsLine = lines.pop() ?? '';
  const negIndex = lines.findIndex((l) => l.startsWith('Negative prompt: '));
  const prompt = (negIndex < 0 ? lines : lines.slice(0, negIndex)).join('\n');
  const negative = negIndex < 0 ? '' : lines.slice(negIndex).join('\n').slice('Negative prompt: '.length);
  const settings: Record<string, string> = {};
  for (const part of settingsLine.split(', ')) {
    const i = part.indexOf(': ');
    if (i > 0) settings[part.slice(0, i)] = part.slice(i + 2);
  }
  const [width, height] = (settings.Size ?? '').split('x').map(Number);
  const samplerToKind = Object.fromEntries(Object.entries(SAMPLER_NAMES).map(([k, v]) => [v, k]));
  return {
    prompt,
    negative,
    settings,
    steps: Number(settings.Steps),
    scheduler: samplerToKind[settings.Sampler] ?? settings.Sampler,
    cfg: Number(settings['CFG scale']),
    seed: Number(settings.Seed),
    rng: settings.RNG,
    width,
    height,
    model: settings.Model,
    checkpoint: settings.Checkpoint,
  };
}
