/** `fn` on the first call only: a release or a count given back twice would skew what it guards. */
export function once(fn: () => unknown): () => void {
  let done = false;
  return () => {
    if (done) return;
    done = true;
    fn();
  };
}
