/**
 * dspu/otel: OpenTelemetry metrics for every dspu policy, recorded from the registry's events.
 * `@opentelemetry/api` is a peer dependency; bring your own SDK and exporter.
 * @packageDocumentation
 * @module dspu/otel
 */
export { instrument, type InstrumentOptions } from './instrument.js';
export { METRIC, ATTRIBUTE, CIRCUIT_STATE_VALUE, type Outcome } from './metric-names.js';
