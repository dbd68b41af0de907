// A piece of state kept in localStorage, so settings survive reloads (the storage module's IndexedDB
// settings store replaces this when it lands).
import { useCallback, useState } from 'react';

const PREFIX = 'stencil-diffusion:';

function read<T>(key: string, fallback: T): T {
  try {
    const raw = localStorage.getItem(PREFIX + key);
    if (raw === null) return fallback;
    const value = JSON.parse(raw) as T;
    // Objects gain fields over versions: fill what an older save lacks.
    return typeof fallback === 'object' && fallback !== null && !Array.isArray(fallback) ? { ...fallback, ...value } : value;
  } catch {
    return fallback;
  }
}

export function useSetting<T>(key: string, fallback: T): [T, (value: T) => void] {
  const [value, setValue] = useState<T>(() => read(key, fallback));
  const set = useCallback(
    (next: T) => {
      setValue(next);
      localStorage.setItem(PREFIX + key, JSON.stringify(next));
    },
    [key],
  );
  return [value, set];
}
