// What this origin stores (models cached for offline use, checkpoints) against the browser's quota.
import { useCallback, useEffect, useState } from 'react';
import type { EngineClient } from '../worker/engine-client';
import type { StorageInfo } from '../worker/messages';
import { ErrorNotice } from './ErrorNotice';
import { formatBytes } from './format';

export function StoragePanel({ client, refreshKey }: { client: EngineClient; refreshKey: unknown }) {
  const [info, setInfo] = useState<StorageInfo>();
  const [error, setError] = useState<Error>();
  const [persisted, setPersisted] = useState<boolean>();

  const refresh = useCallback(() => client.call('storageInfo', {}).then(setInfo, setError), [client]);
  useEffect(() => {
    void refresh();
    void navigator.storage.persisted().then(setPersisted);
  }, [refresh, refreshKey]);

  const clear = () => {
    if (!confirm('Delete every downloaded model file from this browser? They download again when next loaded.')) return;
    client.call('clearModelCache', {}).then(setInfo, setError);
  };
  return (
    <section className="panel" aria-labelledby="storage-heading">
      <h2 id="storage-heading">Storage</h2>
      {info && (
        <>
          <p data-testid="storage-usage">
            {formatBytes(info.usage)} used of {formatBytes(info.quota)} ({((100 * info.usage) / Math.max(1, info.quota)).toFixed(1)}%)
          </p>
          <meter min={0} max={info.quota} value={info.usage} aria-label="Storage used" />
          <p>Cached models: {formatBytes(info.cachedModelBytes)}</p>
        </>
      )}
      <p className="hint">
        {persisted
          ? 'Storage is persistent: the browser will not evict models or checkpoints.'
          : 'Storage may be evicted when the disk runs low. Ask the browser to keep it:'}
      </p>
      <div className="row">
        {!persisted && (
          <button type="button" className="secondary" onClick={() => navigator.storage.persist().then(setPersisted)}>
            Keep storage persistent
          </button>
        )}
        <button type="button" className="secondary" onClick={clear} disabled={!info || info.cachedModelBytes === 0}>
          Clear cached models
        </button>
      </div>
      <ErrorNotice error={error} context="Reading storage" />
    </section>
  );
}
