import { DpcError } from '../errors.js';

/** A counting semaphore: at most `size` tasks run at once, the rest wait in FIFO order. */
export class Limiter {
  private active = 0;
  private readonly waiting: Array<() => void> = [];

  constructor(readonly size: number) {
    if (!Number.isInteger(size) || size < 1) throw new DpcError('ERR_INPUT', `concurrency must be a positive integer, got ${size}`, { field: 'concurrency' });
  }

  async run<T>(task: () => Promise<T>): Promise<T> {
    if (this.active >= this.size) await new Promise<void>((resolve) => this.waiting.push(resolve));
    this.active++;
    try {
      return await task();
    } finally {
      this.active--;
      this.waiting.shift()?.();
    }
  }
}

/**
 * Run `task` for every item under `limiter`. The first failure aborts the shared signal (so in-flight tasks stop
 * early), queued tasks are skipped, and it is rethrown once everything has settled.
 */
export async function runAll<T, R>(
  items: readonly T[],
  limiter: Limiter,
  task: (item: T, signal: AbortSignal) => Promise<R>,
  parent?: AbortSignal,
): Promise<R[]> {
  const controller = new AbortController();
  const onParentAbort = (): void => controller.abort(parent?.reason);
  parent?.addEventListener('abort', onParentAbort, { once: true });
  let failure: { error: unknown } | undefined;
  try {
    const results = await Promise.all(
      items.map((item) =>
        limiter.run(async () => {
          if (controller.signal.aborted) return undefined;
          try {
            return await task(item, controller.signal);
          } catch (error) {
            failure ??= { error };
            controller.abort(error);
            return undefined;
          }
        }),
      ),
    );
    if (failure) throw failure.error;
    if (parent?.aborted) throw parent.reason;
    return results as R[];
  } finally {
    parent?.removeEventListener('abort', onParentAbort);
  }
}
