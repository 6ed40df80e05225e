export {
  syncToAsync,
  runInExecutor,
  shutdownExecutor,
  type SyncToAsyncOptions,
} from './executor.js';
export { asyncToSync, runAsync, type AsyncToSyncOptions } from './sync-bridge.js';
export { WorkerPool, type WorkerPoolOptions } from './worker-pool.js';
export type { ModuleFunction, BridgeTarget } from './target.js';
