import type { Attributes } from '@opentelemetry/api';
import {
  MeterProvider,
  MetricReader,
  type CollectionResult,
  type Histogram,
} from '@opentelemetry/sdk-metrics';

/** A reader collected by hand: no export interval, so fake timers decide nothing about when points appear. */
export class ManualReader extends MetricReader {
  protected onShutdown(): Promise<void> {
    return Promise.resolve();
  }

  protected onForceFlush(): Promise<void> {
    return Promise.resolve();
  }
}

/** One data point: its attributes and its value (a number, or a histogram's count/sum/min/max). */
export interface Point {
  attributes: Attributes;
  value: number | Pick<Histogram, 'count' | 'sum' | 'min' | 'max'>;
}

/** A meter provider with a manual reader, and a function that collects the points of one metric. */
export function metricsHarness(): {
  provider: MeterProvider;
  points(name: string): Promise<Point[]>;
  collect(): Promise<CollectionResult>;
} {
  const reader = new ManualReader();
  const provider = new MeterProvider({ readers: [reader] });
  const collect = () => reader.collect();
  return {
    provider,
    collect,
    async points(name) {
      const { resourceMetrics } = await collect();
      const found = resourceMetrics.scopeMetrics
        .flatMap((scope) => scope.metrics)
        .filter((metric) => metric.descriptor.name === name);
      return found.flatMap((metric) =>
        metric.dataPoints.map((point) => ({
          attributes: point.attributes,
          value:
            typeof point.value === 'number'
              ? point.value
              : {
                  count: point.value.count,
                  sum: point.value.sum,
                  min: point.value.min,
                  max: point.value.max,
                },
        })),
      );
    },
  };
}

/** The attribute set `instrument()` records for a policy (and an outcome, when given). */
export function policy(kind: string, name: string, outcome?: string): Attributes {
  return {
    'dspu.policy.kind': kind,
    'dspu.policy.name': name,
    ...(outcome === undefined ? {} : { 'dspu.outcome': outcome }),
  };
}
