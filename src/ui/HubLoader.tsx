// A Hugging Face repo: first its licence and download size, then (after the user accepts) the download
// into the browser's model cache and the load.
import { useId, useState } from 'react';
import type { EngineClient } from '../worker/engine-client';
import type { HubRepoInfo, ModelSource } from '../worker/messages';
import { ErrorNotice } from './ErrorNotice';
import { formatBytes } from './format';
import { useSetting } from './use-setting';
import { useTask } from './use-task';

const DEFAULT_REPOS = ['stable-diffusion-v1-5/stable-diffusion-v1-5', 'stabilityai/stable-diffusion-2-1-base'];

export function HubLoader({ client, disabled, onLoad }: { client: EngineClient; disabled: boolean; onLoad: (source: ModelSource) => void }) {
  const [repo, setRepo] = useSetting('hubRepo', DEFAULT_REPOS[0]);
  const [token, setToken] = useState('');
  const [accepted, setAccepted] = useState(false);
  const info = useTask<HubRepoInfo>();
  const ids = { repo: useId(), token: useId(), list: useId() };
  const shown = info.result?.repo === repo ? info.result : undefined;

  return (
    <div className="stack">
      <div className="field">
        <label htmlFor={ids.repo}>Repository</label>
        <input id={ids.repo} list={ids.list} value={repo} onChange={(e) => (setRepo(e.target.value.trim()), setAccepted(false))} />
        <datalist id={ids.list}>
          {DEFAULT_REPOS.map((r) => (
            <option key={r} value={r} />
          ))}
        </datalist>
      </div>
      <div className="field">
        <label htmlFor={ids.token}>Access token (gated repos only)</label>
        <input id={ids.token} type="password" autoComplete="off" value={token} onChange={(e) => setToken(e.target.value)} />
      </div>
      <button
        type="button"
        className="secondary"
        disabled={disabled || info.running || !repo}
        onClick={() => info.run((o) => client.call('hubInfo', { repo, token: token || undefined }, o))}
      >
        Check licence and size
      </button>
      <ErrorNotice error={info.error} context="Looking up the repository" />
      {shown && (
        <div className="hub-info" data-testid="hub-info">
          <p>
            Licence: <strong>{shown.license}</strong>{' '}
            <a href={`https://huggingface.co/${shown.repo}`} target="_blank" rel="noreferrer">
              read it on the model page
            </a>
            {shown.gated && ' · gated: accept it there and add a token'}
          </p>
          <p>
            Download: {formatBytes(shown.totalBytes)} in {shown.files.length} files (fp16 weights where available), kept in this browser
            for offline use.
          </p>
          <label className="check">
            <input type="checkbox" checked={accepted} onChange={(e) => setAccepted(e.target.checked)} />I accept the {shown.license} licence
          </label>
          <button type="button" disabled={disabled || !accepted} onClick={() => onLoad({ kind: 'hub', repo, token: token || undefined })}>
            Download and load
          </button>
        </div>
      )}
    </div>
  );
}
