/*
 * reflect-metadata (a peer dependency) puts the `Reflect.*Metadata` functions that legacy decorators record
 * through on `Reflect`. This build loads it with dspu; the CommonJS build, which Node's `require` and `import`
 * both load, uses `reflect-metadata.node.ts` instead and loads it at the first decorator, so an application
 * that never decorates does not pay for it at startup.
 */
import 'reflect-metadata';

/** Makes sure reflect-metadata is loaded. */
export function loadReflectMetadata(): void {}
