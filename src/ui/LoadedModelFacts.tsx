// The model on the GPU: what it is, its parts and what its weights take against the memory budget.
import type { ModelInfo } from '../worker/messages';
import { GB, formatBytes, formatCount } from './format';

export function LoadedModelFacts({ model, budgetGb }: { model: ModelInfo | undefined; budgetGb: number }) {
  return (
    <section className="panel" aria-labelledby="loaded-heading" data-testid="loaded-model">
      <h2 id="loaded-heading">Loaded model</h2>
      {!model ? (
        <p className="hint">No model loaded yet.</p>
      ) : (
        <>
          <p data-testid="model-name" className="ok">
            {model.name}
          </p>
          <dl className="facts">
            <dt>Family</dt>
            <dd>{model.family}</dd>
            <dt>Prediction</dt>
            <dd>{model.predictionType}</dd>
            <dt>Scheduler</dt>
            <dd>{model.scheduler}</dd>
            <dt>Weights</dt>
            <dd data-testid="model-weights">
              {model.precision} · {formatBytes(model.weightBytes)} on the GPU ({((100 * model.weightBytes) / (budgetGb * GB)).toFixed(1)}% of the {budgetGb} GB
              budget)
            </dd>
            {model.components.map((c) => (
              <div key={c.name} className="fact-row">
                <dt>{c.name}</dt>
                <dd>{formatCount(c.parameters)} parameters</dd>
              </div>
            ))}
          </dl>
          {model.notices.map((n) => (
            <p key={n} className="notice">
              {n}
            </p>
          ))}
        </>
      )}
    </section>
  );
}
