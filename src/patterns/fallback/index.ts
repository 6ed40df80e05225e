export {
  fallback,
  FallbackPolicy,
  type FallbackHandler,
  type FallbackEvents,
  type FallbackCallOptions,
} from './fallback.js';
export { type FallbackOptions, type ResolvedFallbackOptions } from './fallback.options.js';
