export {
  Timeout,
  runWithTimeout,
  type TimeoutWork,
  type TimeoutOptions,
  type TimeoutCallOptions,
  type TimeoutEvents,
} from './timeout.js';
export { runWithShield, drainShielded, shieldedCount } from './shield.js';
