// Every way to get a model: the built-in demo, a diffusers folder, a single .safetensors file, the hub.
import { useId, useState } from 'react';
import type { PredictionType } from '../weights/single-file';
import type { EngineClient } from '../worker/engine-client';
import type { ModelSource } from '../worker/messages';
import { FolderPicker } from './FolderPicker';
import { HubLoader } from './HubLoader';

export function ModelSources({ client, busy, onLoad }: { client: EngineClient; busy: boolean; onLoad: (source: ModelSource) => void }) {
  const fileId = useId();
  const predictionId = useId();
  const [prediction, setPrediction] = useState<PredictionType | 'auto'>('auto');
  return (
    <section className="panel" aria-labelledby="sources-heading">
      <h2 id="sources-heading">Load a model</h2>

      <h3>Built-in tiny demo model</h3>
      <p className="hint">
        Generated in the browser with random weights: it checks the GPU path end to end and draws nothing meaningful.
      </p>
      <button type="button" disabled={busy} onClick={() => onLoad({ kind: 'tiny-demo' })}>
        Load the tiny demo model
      </button>

      <h3>Diffusers folder</h3>
      <FolderPicker
        name="model folder"
        hint="A folder with model_index.json, unet/, vae/, text_encoder/, tokenizer/ and scheduler/ (fp32 or fp16 weights)."
        disabled={busy}
        onFolder={onLoad}
      />

      <h3>Single-file checkpoint</h3>
      <div className="row">
        <div className="field">
          <label htmlFor={fileId}>.safetensors file (CompVis layout, as A1111 and ComfyUI use)</label>
          <input
            id={fileId}
            type="file"
            accept=".safetensors"
            disabled={busy}
            onChange={(e) => {
              const file = e.target.files?.[0];
              e.target.value = '';
              if (file) onLoad({ kind: 'single-file', file, predictionType: prediction === 'auto' ? undefined : prediction });
            }}
          />
        </div>
        <div className="field">
          <label htmlFor={predictionId}>Prediction type</label>
          <select id={predictionId} value={prediction} onChange={(e) => setPrediction(e.target.value as PredictionType | 'auto')}>
            <option value="auto">from the file (name, metadata)</option>
            <option value="epsilon">epsilon (SD 1.x, SD 2.1 base)</option>
            <option value="v_prediction">v-prediction (SD 2.1 768)</option>
          </select>
        </div>
      </div>

      <h3>Hugging Face</h3>
      <HubLoader client={client} disabled={busy} onLoad={onLoad} />
    </section>
  );
}
