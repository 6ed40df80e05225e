export { hedge, HedgePolicy, type HedgeEvents, type HedgeCallOptions } from './hedge.js';
export {
  type HedgeOptions,
  type HedgeBudget,
  type LatencyPercentile,
  type ResolvedHedgeOptions,
} from './hedge.options.js';
