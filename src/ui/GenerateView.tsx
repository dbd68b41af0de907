// The Generate view: prompt and sampling settings (kept across reloads), the full prompt the model will
// see, the UNet weights (base model or a stored checkpoint, or both side by side on one seed), img2img and
// LoRA inputs; a run with its live preview, progress and cancel; the gallery, kept across reloads.
import { useEffect, useId, useState } from 'react';
import { stylePrompt, type PromptStyle } from '../pipelines/prompt-style';
import type { CheckpointSummary } from '../storage/checkpoint-format';
import type { GalleryResult } from '../storage/gallery-store';
import type { EngineClient } from '../worker/engine-client';
import type { GenerateOutput, GenerateParams, GenerateProgress, ModelInfo, OpenedImage } from '../worker/messages';
import { ErrorNotice } from './ErrorNotice';
import { GenerationResults } from './GenerationResults';
import { ImageChooser } from './ImageChooser';
import { ProgressBar } from './ProgressBar';
import { RgbaCanvas } from './RgbaCanvas';
import { useTask } from './use-task';
import { NeedsGpu } from './NoGpuBanner';
import { CheckField, NumberField, SelectField } from './NumberField';
import type { GpuState } from './use-engine';
import { useGallery } from './use-gallery';
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

function galleryResult(o: GenerateOutput): GalleryResult {
  return { weights: o.weights, prompt: o.prompt, negative: o.negative, seed: o.seed, parameters: o.parameters, images: o.images, notes: o.notes };
}

function checkpointName(c: CheckpointSummary): string {
  return `checkpoint at step ${c.step} (${c.mode === 'full' ? 'full UNet' : 'LoRA'}${c.loss === undefined ? '' : `, loss ${c.loss.toFixed(4)}`}, run ${c.runId.slice(0, 8)})`;
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
  checkpoint,
}: {
  s: GenerateSettings;
  set: <K extends keyof GenerateSettings>(k: K) => (v: GenerateSettings[K]) => void;
  model: ModelInfo | undefined;
  checkpoint: CheckpointSummary | undefined;
}) {
  const promptId = useId();
  const negativeId = useId();
  // The same styling the pipeline applies, so the prompt shown is the prompt used.
  const tuned = checkpoint ? { fineTuned: true, captionTemplate: checkpoint.captionTemplate } : { fineTuned: model?.fineTuned ?? false, captionTemplate: model?.captionTemplate };
  const styled = stylePrompt(s.prompt, s.negative || undefined, s.style, tuned);
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

/** The checkpoints stored in this browser, refreshed whenever the view is shown (training adds them). */
function useCheckpoints(client: EngineClient, visible: boolean) {
  const [list, setList] = useState<CheckpointSummary[]>([]);
  useEffect(() => {
    if (visible) client.call('checkpoints', {}).then(setList, () => setList([]));
  }, [client, visible]);
  return list;
}

function WeightsPicker({
  model,
  checkpoints,
  value,
  onChange,
}: {
  model: ModelInfo | undefined;
  checkpoints: CheckpointSummary[];
  value: string;
  onChange: (id: string) => void;
}) {
  const usable = checkpoints.filter((c) => c.baseModel === model?.name);
  const others = checkpoints.length - usable.length;
  const missing = value !== '' && !usable.some((c) => c.id === value);
  return (
    <fieldset>
      <legend>Weights</legend>
      <SelectField
        label="UNet weights"
        value={missing ? '' : value}
        options={[['', model ? `base model (${model.name})` : 'base model'], ...usable.map((c) => [c.id, checkpointName(c)] as [string, string])]}
        onChange={onChange}
      />
      {!model && <p className="hint">Load a model to choose among its checkpoints.</p>}
      {model && usable.length === 0 && <p className="hint">No checkpoints of this model yet: the Train view saves them.</p>}
      {missing && checkpoints.length > 0 && <p className="hint">The chosen checkpoint is gone or belongs to another model: using the base model.</p>}
      {others > 0 && (
        <p className="hint">
          {others} checkpoint{others === 1 ? ' was' : 's were'} trained from another model: load that model to use {others === 1 ? 'it' : 'them'}.
        </p>
      )}
    </fieldset>
  );
}

export function GenerateView({
  client,
  gpu,
  model,
  visible,
  checkpointId,
  onCheckpoint,
}: {
  client: EngineClient;
  gpu: GpuState;
  model: ModelInfo | undefined;
  visible: boolean;
  /** The chosen stored checkpoint's id; '' for the base model. */
  checkpointId: string;
  onCheckpoint: (id: string) => void;
}) {
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
  const gallery = useGallery();
  const checkpoints = useCheckpoints(client, visible);
  const checkpoint = checkpoints.find((c) => c.id === checkpointId && c.baseModel === model?.name);

  /** One run, or the base model then the checkpoint on one seed (the reference's comparison). */
  const start = (compare: boolean) =>
    run.run(async (o) => {
      setPreview(undefined);
      const seed = s.lockSeed ? s.seed : randomSeed();
      const weights = compare ? [undefined, checkpoint!] : [checkpoint];
      const results: GalleryResult[] = [];
      for (const c of weights) {
        const output = await client.call(
          'generate',
          { ...paramsOf(s, initImage, loras), seed, checkpointId: c?.id },
          {
            signal: o.signal,
            onProgress: (done, total, label, detail) => {
              o.onProgress?.(done, total, compare ? `${c ? 'checkpoint' : 'base model'}: ${label ?? ''}` : label);
              if (detail?.preview) setPreview(detail.preview);
            },
          },
        );
        results.push(galleryResult(output));
      }
      await gallery.add(results);
      return results;
    });

  return (
    <NeedsGpu gpu={gpu} what="Generating images">
      <div className="columns">
        <div className="stack">
          <PromptFields s={s} set={set} model={model} checkpoint={checkpoint} />
          <WeightsPicker model={model} checkpoints={checkpoints} value={checkpointId} onChange={onCheckpoint} />
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
            <button type="button" onClick={() => start(false)} disabled={!model || run.running}>
              Generate
            </button>
            <button
              type="button"
              className="secondary"
              onClick={() => start(true)}
              disabled={!model || !checkpoint || run.running}
              title={checkpoint ? undefined : 'Choose a checkpoint under Weights first'}
            >
              Compare with the base model
            </button>
            {!model && <span className="hint">Load a model first (Model view).</span>}
            {model && s.width !== model.sampleSize && <span className="hint">This model was trained at {model.sampleSize} px.</span>}
          </div>
          {checkpoint && (
            <p className="hint">Compare generates with the base model, then with the checkpoint, on the same seed; each gets its own prompt style under auto.</p>
          )}
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
          <GenerationResults client={client} records={gallery.records} error={gallery.error} onDelete={gallery.remove} onClear={gallery.clear} />
        </div>
      </div>
    </NeedsGpu>
  );
}
