// The Model view: load a model from any source, with progress; what is loaded; the GPU, its memory budget
// and storage. After the engine restarts (a lost GPU device) it loads the same source again.
import { useEffect, useRef } from 'react';
import type { EngineClient } from '../worker/engine-client';
import type { ModelInfo, ModelSource } from '../worker/messages';
import { ErrorNotice } from './ErrorNotice';
import { GpuDetails } from './GpuDetails';
import { LoadedModelFacts } from './LoadedModelFacts';
import { MemoryBudget } from './MemoryBudget';
import { ModelSources } from './ModelSources';
import { NeedsGpu } from './NoGpuBanner';
import { ProgressBar } from './ProgressBar';
import { StoragePanel } from './StoragePanel';
import type { GpuState } from './use-engine';
import { useTask } from './use-task';

export function ModelView({
  client,
  gpu,
  restarts,
  model,
  onLoaded,
  budgetGb,
  onBudget,
}: {
  client: EngineClient;
  gpu: GpuState;
  /** Engine restarts so far: each one reloads the last model. */
  restarts: number;
  model: ModelInfo | undefined;
  onLoaded: (model: ModelInfo | undefined) => void;
  budgetGb: number;
  onBudget: (gb: number) => void;
}) {
  const load = useTask<ModelInfo>();
  const lastSource = useRef<ModelSource | undefined>(undefined);
  const reloadedFor = useRef(0);
  const start = async (source: ModelSource) => {
    // The worker frees the previous model before loading, so a failed load leaves none.
    const info = await load.run((o) => client.call('loadModel', { source }, o));
    if (info) lastSource.current = source;
    onLoaded(info);
  };
  useEffect(() => {
    if (gpu.status !== 'ready' || restarts === reloadedFor.current) return;
    reloadedFor.current = restarts;
    if (lastSource.current) void start(lastSource.current);
    // start closes over the new client, which arrives with the ready state.
  }, [restarts, gpu.status]);
  return (
    <div className="columns">
      <div className="stack">
        <NeedsGpu gpu={gpu} what="Loading a model">
          <ModelSources client={client} busy={load.running} onLoad={start} />
          {load.running && <ProgressBar progress={load.progress} onCancel={load.cancel} />}
          <ErrorNotice error={load.error} context="Loading the model" />
        </NeedsGpu>
      </div>
      <div className="stack">
        <LoadedModelFacts model={model} budgetGb={budgetGb} />
        {gpu.status === 'ready' && <GpuDetails info={gpu.info} client={client} />}
        <MemoryBudget gigabytes={budgetGb} onChange={onBudget} />
        <StoragePanel client={client} refreshKey={model} />
      </div>
    </div>
  );
}
