// Settings kept across reloads in the IndexedDB settings store. They are read once before the app renders,
// so every control starts from its saved value; each change is written back in the background.
import { createContext, useCallback, useContext, useEffect, useState } from 'react';
import { SettingsStore } from '../storage/settings-store';
import { openStencilDatabase } from '../storage/stencil-database';

interface Settings {
  values: Map<string, unknown>;
  /** Undefined where IndexedDB is unavailable: settings then last for this visit only. */
  store: SettingsStore | undefined;
}

const SettingsContext = createContext<Settings>({ values: new Map(), store: undefined });

async function loadSettings(): Promise<Settings> {
  try {
    const db = await openStencilDatabase();
    const store = new SettingsStore(db);
    const keys = (await db.getAllKeys('settings')) as string[];
    const values = new Map(await Promise.all(keys.map(async (k) => [k, await store.get(k, undefined)] as const)));
    return { values, store };
  } catch (e) {
    console.warn(`settings will not be kept: ${(e as Error).message}`);
    return { values: new Map(), store: undefined };
  }
}

export function SettingsProvider({ children }: { children: React.ReactNode }) {
  const [settings, setSettings] = useState<Settings>();
  useEffect(() => {
    void loadSettings().then(setSettings);
  }, []);
  return settings ? <SettingsContext.Provider value={settings}>{children}</SettingsContext.Provider> : null;
}

function withFallback<T>(saved: unknown, fallback: T): T {
  if (saved === undefined) return fallback;
  // Objects gain fields over versions: fill what an older save lacks.
  const isRecord = (v: unknown) => typeof v === 'object' && v !== null && !Array.isArray(v);
  return isRecord(fallback) && isRecord(saved) ? { ...fallback, ...(saved as object) } : (saved as T);
}

export function useSetting<T>(key: string, fallback: T): [T, (value: T) => void] {
  const { values, store } = useContext(SettingsContext);
  const [value, setValue] = useState<T>(() => withFallback(values.get(key), fallback));
  const set = useCallback(
    (next: T) => {
      setValue(next);
      values.set(key, next);
      store?.set(key, next).catch((e: Error) => console.warn(`setting "${key}" not saved: ${e.message}`));
    },
    [key, values, store],
  );
  return [value, set];
}
