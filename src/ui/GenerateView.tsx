// The Generate view: prompt and sampling settings (kept across reloads), the full prompt the model will
// see, img2img and LoRA inputs; a run with its live preview, progress and cancel; the session's results.
import { useId, useRef, useState } from 'react';
import { stylePrompt, type PromptStyle } from '../pipelines/prompt-style';
import type { EngineClient } from '../worker/engine-client';
import type { GenerateParams, GenerateProgress, ModelInfo, OpenedImage } from '../worker/messages';
import { ComingWith } from './ComingWith';
import { ErrorNotice } from './ErrorNotice';
import { GenerationResults, type GenerationRecord } from './GenerationResults';
import { ImageChooser } from './ImageChooser';
import { ProgressBar } from './ProgressBar';
import { RgbaCanvas } from './RgbaCanvas';
import { useTask } from './use-task';
import { NeedsGpu } from './NoGpuBanner';
import { CheckField, NumberField, SelectField } from './NumberField';
import type { GpuState } from './use-engine';
import { useSetting } from './use-setting';

const SCHEDULERS = [
  ['default', "the model's own"],
  ['pndm', 'PNDM (PLMS)'],
  ['ddim', 'DDIM'],
  ['euler', 'Euler'],
  ['euler-a', 'Euler ancestral'],
  ['dpmpp-2m', 'DPM++ 2M'],
  ['dpmpp-2m-karras', 'DPM++ 2M Karras'],
  ['ddpm', 'DDPM'],
] as const;


interface GenerateSettings {
  prompt: string;
  negative: string;
  style: PromptStyle | 'auto';
  scheduler: (typeof SCHEDULERS)[number][0];
  steps: number;
  guidance: number;
  seed: number;
  lockSeed: boolean;
  generator: 'philox' | 'torch-cpu';
  width: number;
  height: number;
  count: number;
  strength: number;
}

const DEFAULTS: GenerateSettings = {
  prompt: 'a cat',
  negative: '',
  style: 'auto',
  scheduler: 'default',
  steps: 25,
  guidance: 7.5,
  seed: 42,
  lockSeed: true,
  generator: 'philox',
  width: 512,
  height: 512,
  count: 1,
  strength: 0.75,
};

function randomSeed(): number {
  return crypto.getRandomValues(new Uint32Array(1))[0];
}

function paramsOf(s: GenerateSettings, initImage: OpenedImage | undefined, loras: GenerateParams['loras']): GenerateParams {
  const { scheduler } = s;
  const karras = scheduler === 'dpmpp-2m-karras';
  return {
    prompt: s.prompt,
    negative: s.negative || undefined,
    style: s.style,
    scheduler: scheduler === 'default' ? undefined : scheduler === 'dpmpp-2m-karras' ? 'dpmpp-2m' : scheduler,
    karras: karras || undefined,
    steps: s.steps,
    guidance: s.guidance,
    seed: s.lockSeed ? s.seed : undefined,
    rng: s.generator,
    width: s.width,
    height: s.height,
    images: s.count,
    initImageId: initImage?.id,
    strength: initImage ? s.strength : undefined,
    loras,
  };
}

function PromptFields({
  s,
  set,
  model,
}: {
  s: GenerateSettings;
  set: <K extends keyof GenerateSettings>(k: K) => (v: GenerateSettings[K]) => void;
  model: ModelInfo | undefined;
}) {
  const promptId = useId();
  const negativeId = useId();
  // The same styling the pipeline applies, so the prompt shown is the prompt used.
  const styled = stylePrompt(s.prompt, s.negative || undefined, s.style, { fineTuned: model?.fineTuned ?? false, captionTemplate: model?.captionTemplate });
  return (
    <fieldset>
      <legend>Prompt</legend>
      <div className="field">
        <label htmlFor={promptId}>Prompt</label>
        <textarea id={promptId} rows={3} value={s.prompt} onChange={(e) => set('prompt')(e.target.value)} />
      </div>
      <div className="field">
        <label htmlFor={negativeId}>Negative prompt (empty: the style's own)</label>
        <textarea id={negativeId} rows={2} value={s.negative} onChange={(e) => set('negative')(e.target.value)} />
      </div>
      <SelectField
        label="Prompt style"
        value={s.style}
        options={[
          ['auto', 'auto (stencil for a base model, sketch for a fine-tune)'],
          ['stencil', 'stencil: silhouette words and negative'],
          ['sketch', 'sketch: the caption template'],
          ['none', 'none: the prompt as typed'],
        ]}
        onChange={set('style')}
      />
      <div className="full-prompt" data-testid="full-prompt">
        <p>
          <span className="hint">Full prompt ({styled.style}):</span> {styled.prompt || <em>empty (unconditional)</em>}
        </p>
        <p>
          <span className="hint">Negative:</span> {styled.negative || <em>none</em>}
        </p>
      </div>
    </fieldset>
  );
}

export function GenerateView({ client, gpu, model }: { client: EngineClient; gpu: GpuState; model: ModelInfo | undefined }) {
  const [s, setSettings] = useSetting('generate', DEFAULTS);
  const set =
    <K extends keyof GenerateSettings>(key: K) =>
    (value: GenerateSettings[K]) =>
      setSettings({ ...s, [key]: value });
  const [initImage, setInitImage] = useState<OpenedImage>();
  const [loras, setLoras] = useState<{ file: File; scale: number }[]>([]);
  const loraId = useId();
  const run = useTask<unknown>();
  const [preview, setPreview] = useState<GenerateProgress['preview']>();
  const [records, setRecords] = useState<GenerationRecord[]>([]);
  const nextId = useRef(1);

  const start = () =>
    run.run(async (o) => {
      setPreview(undefined);
      const output = await client.call('generate', paramsOf(s, initImage, loras), {
        signal: o.signal,
        onProgress: (done, total, label, detail) => {
          o.onProgress?.(done, total, label);
          if (detail?.preview) setPreview(detail.preview);
        },
      });
      setRecords((r) => [{ id: nextId.current++, output }, ...r]);
      return output;
    });

  return (
    <NeedsGpu gpu={gpu} what="Generating images">
      <div className="columns">
        <div className="stack">
          <PromptFields s={s} set={set} model={model} />
          <fieldset>
            <legend>Sampling</legend>
            <div className="grid2">
              <SelectField label="Scheduler" value={s.scheduler} options={SCHEDULERS} onChange={set('scheduler')} />
              <NumberField label="Steps" min={1} max={150} value={s.steps} onChange={set('steps')} />
              <NumberField label="Guidance scale" min={0} max={30} step={0.5} value={s.guidance} onChange={set('guidance')} />
              <NumberField label="Images per prompt" min={1} max={8} value={s.count} onChange={set('count')} />
              <NumberField label="Width (px, multiple of 8)" min={8} max={2048} step={8} value={s.width} onChange={set('width')} />
              <NumberField label="Height (px, multiple of 8)" min={8} max={2048} step={8} value={s.height} onChange={set('height')} />
              <NumberField label="Seed" min={0} max={2 ** 32 - 1} value={s.seed} onChange={set('seed')} />
              <SelectField
                label="Noise generator"
                value={s.generator}
                options={[
                  ['philox', 'Philox (identical on every device)'],
                  ['torch-cpu', 'torch CPU (same noise as diffusers)'],
                ]}
                onChange={set('generator')}
              />
            </div>
            <div className="row">
              <CheckField label="Lock the seed (otherwise a new one each run)" checked={s.lockSeed} onChange={set('lockSeed')} />
              <button type="button" className="secondary" onClick={() => set('seed')(randomSeed())}>
                New random seed
              </button>
            </div>
          </fieldset>
          <fieldset>
            <legend>Image to image</legend>
            <ImageChooser client={client} label="Start from an image (photo or drawing)" onImage={setInitImage} />
            {initImage && (
              <p className="hint">
                {initImage.name}: {initImage.width}×{initImage.height} px
              </p>
            )}
            <NumberField label="Strength" slider min={0.05} max={1} step={0.05} value={s.strength} onChange={set('strength')} disabled={!initImage} />
          </fieldset>
          <fieldset>
            <legend>LoRA</legend>
            <div className="field">
              <label htmlFor={loraId}>LoRA files (.safetensors, kohya or diffusers keys)</label>
              <input
                id={loraId}
                type="file"
                accept=".safetensors"
                multiple
                onChange={(e) => setLoras([...loras, ...[...(e.target.files ?? [])].map((file) => ({ file, scale: 1 }))])}
              />
            </div>
            {loras.map((l, i) => (
              <div className="row" key={`${l.file.name}-${i}`}>
                <NumberField
                  label={`${l.file.name} scale`}
                  min={-2}
                  max={2}
                  step={0.05}
                  value={l.scale}
                  onChange={(scale) => setLoras(loras.map((x, j) => (j === i ? { ...x, scale } : x)))}
                />
                <button type="button" className="secondary" onClick={() => setLoras(loras.filter((_, j) => j !== i))}>
                  Remove
                </button>
              </div>
            ))}
          </fieldset>
          <div className="row">
            <button type="button" onClick={start} disabled={!model || run.running}>
              Generate
            </button>
            {!model && <span className="hint">Load a model first (Model view).</span>}
            {model && s.width !== model.sampleSize && <span className="hint">This model was trained at {model.sampleSize} px.</span>}
          </div>
          <ComingWith feature="the gallery store (results kept across reloads) and base-versus-checkpoint comparison" />
        </div>
        <div className="stack">
          {run.running && (
            <section className="panel" aria-labelledby="running-heading">
              <h2 id="running-heading">Generating</h2>
              {preview && <RgbaCanvas width={preview.width} height={preview.height} data={preview.data} label="Live preview of the image being generated" />}
              <ProgressBar progress={run.progress} unit="it" onCancel={run.cancel} />
            </section>
          )}
          <ErrorNotice error={run.error} context="Generating" />
          <GenerationResults client={client} records={records} />
        </div>
      </div>
    </NeedsGpu>
  );
}
