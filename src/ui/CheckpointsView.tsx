// The Checkpoints view: what training saved in this browser (step, loss, size, date), newest first, with
// delete. Loading one into the generator and exporting it wait on their pipelines.
import { useCallback, useEffect, useState } from 'react';
import type { CheckpointSummary } from '../storage/checkpoint-format';
import type { EngineClient } from '../worker/engine-client';
import { ComingWith } from './ComingWith';
import { ErrorNotice } from './ErrorNotice';
import { formatBytes } from './format';

function CheckpointRow({ c, onDelete }: { c: CheckpointSummary; onDelete: () => void }) {
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
      <td className="row">
        <button type="button" className="secondary" disabled aria-describedby="checkpoint-load-coming">
          Load into the generator
        </button>
        <button type="button" className="secondary" disabled aria-describedby="checkpoint-export-coming">
          Export…
        </button>
        <button type="button" className="secondary" onClick={onDelete} aria-label={`Delete the checkpoint at step ${c.step}`}>
          Delete
        </button>
      </td>
    </tr>
  );
}

export function CheckpointsView({ client, visible }: { client: EngineClient; visible: boolean }) {
  const [list, setList] = useState<CheckpointSummary[]>();
  const [error, setError] = useState<Error>();
  const refresh = useCallback(() => client.call('checkpoints', {}).then(setList, setError), [client]);
  // Listed whenever the view is shown: training in the other view adds checkpoints.
  useEffect(() => {
    if (visible) void refresh();
  }, [visible, refresh]);

  const remove = (c: CheckpointSummary) => {
    if (!confirm(`Delete the checkpoint at step ${c.step} (${formatBytes(c.totalBytes)})? This cannot be undone.`)) return;
    client.call('deleteCheckpoint', { id: c.id }).then(setList, setError);
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
              <th scope="col">Actions</th>
            </tr>
          </thead>
          <tbody>
            {list.map((c) => (
              <CheckpointRow key={c.id} c={c} onDelete={() => remove(c)} />
            ))}
          </tbody>
        </table>
      )}
      <ComingWith id="checkpoint-load-coming" feature="checkpoint loading in the generation pipeline (issue 6)" />
      <ComingWith id="checkpoint-export-coming" feature="checkpoint export (issue 7): diffusers unet/, single-file .safetensors, LoRA" />
      <ErrorNotice error={error} context="Listing checkpoints" />
    </section>
  );
}
