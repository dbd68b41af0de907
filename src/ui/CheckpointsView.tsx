// The Checkpoints view: what training saved in this browser (step, loss, size, date), newest first, with
// "use in the generator" (it becomes the Generate view's weights), export (a diffusers unet/ folder or a LoRA
// file) and delete.
import { useCallback, useEffect, useState } from 'react';
import type { CheckpointSummary } from '../storage/checkpoint-format';
import type { EngineClient } from '../worker/engine-client';
import type { ModelInfo } from '../worker/messages';
import { ErrorNotice } from './ErrorNotice';
import { formatBytes } from './format';
import { SelectField } from './NumberField';
import { saveFiles } from './save-files';

function CheckpointRow({
  c,
  model,
  onUse,
  onExport,
  onDelete,
}: {
  c: CheckpointSummary;
  model: ModelInfo | undefined;
  onUse: () => void;
  onExport: () => void;
  onDelete: () => void;
}) {
  const usable = model?.name === c.baseModel;
  return (
    <tr>
      <td>{c.step}</td>
      <td>{c.loss === undefined ? '—' : c.loss.toFixed(4)}</td>
      <td>{c.mode === 'full' ? 'full UNet' : 'LoRA'}</td>
      <td>{formatBytes(c.totalBytes)}</td>
      <td>{new Date(c.createdAt).toLocaleString()}</td>
      <td title={c.runId}>
        {c.runId.slice(0, 8)}
        {c.hasRunState && ' · resumable'}
      </td>
      <td>{c.baseModel}</td>
      <td className="row">
        <button
          type="button"
          onClick={onUse}
          disabled={!usable}
          title={usable ? undefined : `Load the model "${c.baseModel}" first`}
          aria-label={`Load the checkpoint at step ${c.step} into the generator`}
        >
          Load into the generator
        </button>
        <button type="button" className="secondary" onClick={onExport} aria-label={`Export the checkpoint at step ${c.step}`}>
          Export…
        </button>
        <button type="button" className="secondary" onClick={onDelete} aria-label={`Delete the checkpoint at step ${c.step}`}>
          Delete
        </button>
      </td>
    </tr>
  );
}

export function CheckpointsView({
  client,
  visible,
  model,
  onUse,
}: {
  client: EngineClient;
  visible: boolean;
  model: ModelInfo | undefined;
  /** Makes the checkpoint the generator's weights and shows the Generate view. */
  onUse: (id: string) => void;
}) {
  const [list, setList] = useState<CheckpointSummary[]>();
  const [error, setError] = useState<Error>();
  const [dtype, setDtype] = useState<'f16' | 'f32'>('f16');
  const [exported, setExported] = useState<string>();
  const refresh = useCallback(() => client.call('checkpoints', {}).then(setList, setError), [client]);
  // Listed whenever the view is shown: training in the other view adds checkpoints.
  useEffect(() => {
    if (visible) void refresh();
  }, [visible, refresh]);

  const remove = (c: CheckpointSummary) => {
    if (!confirm(`Delete the checkpoint at step ${c.step} (${formatBytes(c.totalBytes)})? This cannot be undone.`)) return;
    client.call('deleteCheckpoint', { id: c.id }).then(setList, setError);
  };
  const exportOne = async (c: CheckpointSummary) => {
    setExported(undefined);
    try {
      const { files } = await client.call('exportCheckpoint', { id: c.id, dtype });
      setExported(await saveFiles(files, `checkpoint-step-${c.step}`));
      setError(undefined);
    } catch (e) {
      if ((e as Error).name !== 'AbortError') setError(e as Error);
    }
  };
  return (
    <section className="panel" aria-labelledby="checkpoints-heading">
      <h2 id="checkpoints-heading">Checkpoints</h2>
      {list?.length === 0 && <p className="hint">No checkpoints yet: training saves them here every few steps.</p>}
      {list && list.length > 0 && (
        <table className="classes" data-testid="checkpoint-list">
          <thead>
            <tr>
              <th scope="col">Step</th>
              <th scope="col">Loss</th>
              <th scope="col">Mode</th>
              <th scope="col">Size</th>
              <th scope="col">Saved</th>
              <th scope="col">Run</th>
              <th scope="col">Trained from</th>
              <th scope="col">Actions</th>
            </tr>
          </thead>
          <tbody>
            {list.map((c) => (
              <CheckpointRow key={c.id} c={c} model={model} onUse={() => onUse(c.id)} onExport={() => exportOne(c)} onDelete={() => remove(c)} />
            ))}
          </tbody>
        </table>
      )}
      {list && list.length > 0 && !model && <p className="hint">Load the model a checkpoint was trained from to generate with it or export it.</p>}
      <div className="row">
        <SelectField
          label="Export precision (full UNet)"
          value={dtype}
          options={[
            ['f16', 'f16 (half the size)'],
            ['f32', 'f32'],
          ]}
          onChange={setDtype}
        />
        <span className="hint">A full UNet exports as a diffusers unet/ folder; LoRA as a PEFT-keyed lora.safetensors. Load the base model first.</span>
      </div>
      {exported && (
        <p className="notice" data-testid="exported">
          Exported: {exported}.
        </p>
      )}
      <ErrorNotice error={error} context="Checkpoints" />
    </section>
  );
}
