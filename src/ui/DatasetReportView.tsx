// The scan report: layout, classes with counts and sample thumbnails, skipped files and why; choosing
// classes, a per-class cap and the caption template re-selects in the worker without a rescan.
import { useEffect, useId, useMemo, useState } from 'react';
import type { DatasetSelection } from '../data/dataset-selection';
import type { DatasetReport } from '../worker/messages';
import { CheckField, NumberField, SelectField } from './NumberField';

const LAYOUTS: Record<DatasetReport['layout'], string> = {
  'imagenet-sketch': 'ImageNet-Sketch synset folders',
  'class-folders': 'class-name folders',
  'caption-files': 'images with same-name .txt captions',
  'imagefolder-metadata': 'imagefolder with metadata.jsonl',
};

function Thumbnail({ blob, path }: { blob: Blob; path: string }) {
  const url = useMemo(() => URL.createObjectURL(blob), [blob]);
  useEffect(() => () => URL.revokeObjectURL(url), [url]);
  return <img src={url} alt={path} title={path} className="thumb" />;
}

export function DatasetReportView({
  report,
  selection,
  onSelection,
}: {
  report: DatasetReport;
  selection: DatasetSelection;
  onSelection: (s: DatasetSelection) => void;
}) {
  const [allIds] = useState(() => report.classes.map((c) => c.id));
  const templateId = useId();
  const chosen = new Set(selection.classes ?? allIds);
  const toggle = (id: string, on: boolean) => {
    const next = allIds.filter((c) => (c === id ? on : chosen.has(c)));
    onSelection({ ...selection, classes: next.length === allIds.length ? undefined : next });
  };
  const byId = new Map(report.classes.map((c) => [c.id, c]));
  return (
    <section className="panel" aria-labelledby="report-heading" data-testid="dataset-report">
      <h2 id="report-heading">Dataset: {report.source}</h2>
      <p>
        {LAYOUTS[report.layout]} · {report.images} usable images in {allIds.length} classes · <strong>{report.selected} selected</strong> ·{' '}
        {report.skipped.length} skipped
      </p>
      <div className="grid2">
        {report.layout !== 'caption-files' && report.layout !== 'imagefolder-metadata' && (
          <div className="field">
            <label htmlFor={templateId}>Caption template</label>
            <input
              id={templateId}
              value={selection.captionTemplate ?? 'sketch of {name}'}
              onChange={(e) => onSelection({ ...selection, captionTemplate: e.target.value })}
            />
          </div>
        )}
        <NumberField
          label="Images per class (0 = all)"
          min={0}
          value={selection.maxPerClass ?? 0}
          onChange={(v) => onSelection({ ...selection, maxPerClass: v > 0 ? v : undefined })}
        />
        {report.layout === 'imagenet-sketch' && (
          <SelectField
            label="Class names"
            value={selection.names ?? 'clip'}
            options={[
              ['clip', 'cleaned CLIP names'],
              ['wordnet', 'WordNet names'],
            ]}
            onChange={(names) => onSelection({ ...selection, names })}
          />
        )}
      </div>
      <table className="classes">
        <thead>
          <tr>
            <th scope="col">Train</th>
            <th scope="col">Class</th>
            <th scope="col">Images</th>
            <th scope="col">Caption</th>
            <th scope="col">Samples</th>
          </tr>
        </thead>
        <tbody>
          {allIds.map((id) => {
            const c = byId.get(id);
            return (
              <tr key={id}>
                <td>
                  <CheckField label={`Train on ${c?.name ?? id}`} checked={chosen.has(id)} onChange={(on) => toggle(id, on)} />
                </td>
                <td>{c?.name ?? id}</td>
                <td>{c ? `${c.selected} of ${c.available}` : '—'}</td>
                <td>{c?.caption}</td>
                <td>
                  <div className="thumbs">{c?.thumbnails.map((t) => <Thumbnail key={t.path} blob={t.blob} path={t.path} />)}</div>
                </td>
              </tr>
            );
          })}
        </tbody>
      </table>
      {report.skipped.length > 0 && (
        <details data-testid="skipped">
          <summary>{report.skipped.length} files skipped</summary>
          <ul>
            {report.skipped.map((s) => (
              <li key={s.path}>
                <code>{s.path}</code>: {s.detail}
              </li>
            ))}
          </ul>
        </details>
      )}
    </section>
  );
}
