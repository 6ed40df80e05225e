/*
 * The worker file piscina runs in the bridge benchmark: the same trivial function that dspu sends as source.
 */
export default function increment(n: number): number {
  return n + 1;
}
