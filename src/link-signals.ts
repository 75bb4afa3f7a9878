/**
 * A signal that aborts when any of `signals` does, with its reason, or when `abort` is called (a timeout, say); and a
 * `dispose` that unhooks it from them. Unlike `AbortSignal.any`, nothing of it stays on a long-lived signal once
 * disposed: the engine's, aborted only at shutdown, under its walks; a walk's, under its many Kombo requests.
 */
export function linkSignals(...signals: AbortSignal[]): { signal: AbortSignal; abort(reason: unknown): void; dispose(): void } {
  const linked = new AbortController();
  const hooks = signals.map((source) => ({ source, follow: () => abort(source.reason) }));
  const dispose = () => {
    for (const { source, follow } of hooks) source.removeEventListener('abort', follow);
  };
  function abort(reason: unknown): void {
    dispose();
    linked.abort(reason);
  }
  const aborted = signals.find((source) => source.aborted);
  if (aborted) abort(aborted.reason);
  else for (const { source, follow } of hooks) source.addEventListener('abort', follow, { once: true });
  return { signal: linked.signal, abort, dispose };
}
