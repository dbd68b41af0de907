// The gallery as React state, backed by the IndexedDB gallery store so results survive reloads. Where
// IndexedDB is unavailable or full, results still show for this visit and the reason is given.
import { useCallback, useEffect, useRef, useState } from 'react';
import { GalleryStore, type GalleryRecord, type GalleryResult } from '../storage/gallery-store';
import { openStencilDatabase } from '../storage/stencil-database';

export function useGallery() {
  const store = useRef<GalleryStore | undefined>(undefined);
  const [records, setRecords] = useState<GalleryRecord[]>([]);
  const [error, setError] = useState<Error>();
  /** Ids for records kept only in memory: negative, so they never meet a stored one. */
  const unsaved = useRef(-1);

  useEffect(() => {
    let live = true;
    openStencilDatabase()
      .then(async (db) => {
        store.current = new GalleryStore(db);
        const saved = await store.current.list();
        if (live) setRecords((current) => [...current, ...saved]);
      })
      .catch((e: Error) => live && setError(new Error(`The gallery is kept for this visit only: ${e.message}`)));
    return () => {
      live = false;
    };
  }, []);

  const add = useCallback(async (results: GalleryResult[]) => {
    try {
      if (!store.current) throw new Error('IndexedDB is not available');
      const record = await store.current.add(results);
      setRecords((r) => [record, ...r]);
    } catch (e) {
      setRecords((r) => [{ id: unsaved.current--, createdAt: new Date().toISOString(), results }, ...r]);
      setError(e as Error);
    }
  }, []);

  const remove = useCallback(async (id: number) => {
    if (id > 0) await store.current?.delete(id).catch((e: Error) => setError(e));
    setRecords((r) => r.filter((x) => x.id !== id));
  }, []);

  const clear = useCallback(async () => {
    await store.current?.clear().catch((e: Error) => setError(e));
    setRecords([]);
  }, []);

  return { records, error, add, remove, clear };
}
