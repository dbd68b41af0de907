// The app shell: header with the GPU badge, the views as tabs, and the engine worker they all talk to.
import { useEffect, useState } from 'react';
import type { ModelInfo } from '../worker/messages';
import { CheckpointsView } from './CheckpointsView';
import { GB } from './format';
import { GenerateView } from './GenerateView';
import { GpuStatus } from './GpuStatus';
import { ModelView } from './ModelView';
import { NoGpuBanner } from './NoGpuBanner';
import { StencilView } from './StencilView';
import { Tabs, type TabItem } from './Tabs';
import { TrainView } from './TrainView';
import { useEngine } from './use-engine';
import { useSetting } from './use-setting';

type ViewId = 'model' | 'generate' | 'train' | 'checkpoints' | 'stencil';

const VIEWS: readonly TabItem<ViewId>[] = [
  { id: 'model', label: 'Model' },
  { id: 'generate', label: 'Generate' },
  { id: 'train', label: 'Train' },
  { id: 'checkpoints', label: 'Checkpoints' },
  { id: 'stencil', label: 'Stencil' },
];

export function App() {
  const [budgetGb, setBudgetGb] = useSetting('memoryBudgetGb', 8);
  const { client, gpu, restarts, lostMessage } = useEngine(budgetGb * GB);
  const [view, setView] = useSetting<ViewId>('view', 'model');
  const [model, setModel] = useState<ModelInfo>();
  /** The stored checkpoint the generator uses; '' for the base model. */
  const [checkpointId, setCheckpointId] = useSetting('generatorCheckpoint', '');
  // A restarted engine has no model: the Model view loads the last one again.
  useEffect(() => {
    if (restarts > 0) setModel(undefined);
  }, [restarts]);

  const changeBudget = (gb: number) => {
    setBudgetGb(gb);
    if (client && gpu.status === 'ready') void client.call('setMemoryBudget', { bytes: gb * GB });
  };

  const panel = (id: ViewId, content: React.ReactNode) => (
    <section key={id} role="tabpanel" id={`panel-${id}`} aria-labelledby={`tab-${id}`} hidden={view !== id} tabIndex={0}>
      {content}
    </section>
  );

  return (
    <div className="app">
      <header className="app-header">
        <div>
          <h1>Stencil Diffusion</h1>
          <p className="tagline">Fine-tune Stable Diffusion on your own GPU, in this tab, and cut clean stencils.</p>
        </div>
        <GpuStatus gpu={gpu} />
      </header>
      {gpu.status === 'unavailable' && <NoGpuBanner gpu={gpu} />}
      {lostMessage && (
        <div className="notice" role="status" data-testid="device-lost">
          <p>
            <strong>The GPU was reset</strong> ({lostMessage.split('. The engine')[0]}). The engine restarted
            {gpu.status === 'ready' ? '' : ' and is starting'}; the model is loaded again and a training run resumes from its last checkpoint.
          </p>
        </div>
      )}
      <Tabs tabs={VIEWS} current={view} onChange={setView} />
      {client && (
        <main>
          {panel(
            'model',
            <ModelView client={client} gpu={gpu} restarts={restarts} model={model} onLoaded={setModel} budgetGb={budgetGb} onBudget={changeBudget} />,
          )}
          {panel(
            'generate',
            <GenerateView client={client} gpu={gpu} model={model} visible={view === 'generate'} checkpointId={checkpointId} onCheckpoint={setCheckpointId} />,
          )}
          {panel('train', <TrainView client={client} gpu={gpu} model={model} restarts={restarts} />)}
          {panel(
            'checkpoints',
            <CheckpointsView
              client={client}
              visible={view === 'checkpoints'}
              model={model}
              onUse={(id) => {
                setCheckpointId(id);
                setView('generate');
              }}
            />,
          )}
          {panel('stencil', <StencilView client={client} />)}
        </main>
      )}
    </div>
  );
}
