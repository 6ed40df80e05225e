export { fallback, FallbackPolicy, type FallbackHandler, type FallbackEvents } from './fallback.js';
export { type FallbackOptions, type ResolvedFallbackOptions } from './fallback.options.js';
