/*
 * The CommonJS build's `reflect-metadata.ts`: loads reflect-metadata at the first decorator instead of at
 * import. Loading it costs about as much as loading the rest of dspu, and many applications never decorate.
 */
let loaded = false;

/** Makes sure reflect-metadata is loaded. */
export function loadReflectMetadata(): void {
  if (loaded) return;
  // Only ever runs as CommonJS (see the build), where `require` is the module's own.
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  require('reflect-metadata');
  loaded = true;
}
