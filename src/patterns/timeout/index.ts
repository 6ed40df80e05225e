export { Timeout, runWithTimeout, type TimeoutWork, type TimeoutEvents } from './timeout.js';
export { type TimeoutOptions, type TimeoutCallOptions } from './timeout.options.js';
export { runWithShield, drainShielded, shieldedCount } from './shield.js';
