// Overlapping an async producer with its consumer (backup and restore streams).

/**
 * Reads one item ahead: the source's next read runs while the caller writes the current item,
 * so the disk reads and writes overlap instead of alternating.
 */
export async function* prefetched<T>(source: AsyncGenerator<T>): AsyncGenerator<T> {
  let next = source.next();
  try {
    for (;;) {
      const current = await next;
      if (current.done === true) return;
      next = source.next();
      yield current.value;
    }
  } finally {
    await next.catch(() => undefined);
    await source.return(undefined);
  }
}
