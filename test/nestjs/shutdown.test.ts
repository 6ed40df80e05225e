import 'reflect-metadata';
import { Injectable, Module, type LoggerService } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { Test } from '@nestjs/testing';
import { expect } from 'chai';
import sinon from 'sinon';
import {
  BridgeError,
  CircuitBreaker,
  ResilienceRegistry,
  runInExecutor,
  runWithShield,
  shieldedCount,
  Timeout,
} from '../../src/index.js';
import { ResilienceModule } from '../../src/nestjs/index.js';

@Injectable()
class AuditService {
  written: string[] = [];
  finish: () => void = () => undefined;

  @Timeout('1m')
  async record(entry: string): Promise<void> {
    // Shielded: the write must complete even if the request around it ends.
    void runWithShield(async () => {
      await new Promise<void>((resolve) => (this.finish = resolve));
      this.written.push(entry);
    });
  }
}

// Sleeps on a worker without burning the CPU: only terminating the worker ends it early.
function sleepOnWorker(ms: number): number {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
  return ms;
}

@Module({ imports: [ResilienceModule.forRoot()], providers: [AuditService] })
class AuditModule {}

describe('nestjs: shutdown', () => {
  afterEach(() => sinon.restore());

  it('leaves nothing of a closed application on an engine it shared, even with its listeners still there', async () => {
    const payments = new CircuitBreaker({ failureThreshold: 5 }); // a module's: it outlives every application
    @Module({ imports: [ResilienceModule.forRoot({ circuitBreaker: { payments } })] })
    class PaymentsModule {}
    for (let i = 0; i < 3; i++) {
      const app = await NestFactory.createApplicationContext(PaymentsModule, { logger: false });
      app.get(ResilienceRegistry).on('success', () => undefined); // never removed
      await app.close();
    }
    expect(payments.events.has('success')).to.equal(false);
  });

  it('waits for shielded work before the application finishes closing', async () => {
    const moduleRef = await Test.createTestingModule({ imports: [AuditModule] }).compile();
    await moduleRef.init();
    const audit = moduleRef.get(AuditService);
    await audit.record('order 42 paid');

    let closed = false;
    const closing = moduleRef.close().then(() => (closed = true));
    await new Promise((resolve) => setImmediate(resolve));
    expect(closed, 'still draining').to.equal(false);
    audit.finish();
    await closing;
    expect(audit.written).to.deep.equal(['order 42 paid']);
    expect(shieldedCount()).to.equal(0);
  });

  it('closes anyway after drainTimeout, with a warning, when shielded work hangs', async () => {
    const clock = sinon.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'Date'] });
    const warnings: string[] = [];
    const logger: LoggerService = {
      log: () => undefined,
      error: () => undefined,
      warn: (message: unknown) => void warnings.push(String(message)),
    };
    @Module({
      imports: [ResilienceModule.forRoot({ drainTimeout: '5s' })],
      providers: [AuditService],
    })
    class BoundedModule {}
    const app = await NestFactory.createApplicationContext(BoundedModule, { logger });
    const audit = app.get(AuditService);
    await audit.record('never finishes');

    let closed = false;
    const closing = app.close().then(() => (closed = true));
    await clock.tickAsync(4_999);
    expect(closed).to.equal(false);
    await clock.tickAsync(1);
    await closing;
    expect(warnings).to.deep.equal([
      '1 shielded operation(s) still running after drainTimeout; closing anyway',
    ]);
    audit.finish();
    await new Promise((resolve) => setImmediate(resolve));
    expect(shieldedCount()).to.equal(0);
  });

  it('stops the worker pools when the last application closes, not before', async () => {
    const first = await Test.createTestingModule({ imports: [AuditModule] }).compile();
    const second = await Test.createTestingModule({ imports: [AuditModule] }).compile();
    await Promise.all([first.init(), second.init()]);
    let outcome: unknown = 'running';
    const call = runInExecutor(sleepOnWorker, 60_000).then(
      (value) => (outcome = value),
      (error: unknown) => (outcome = error),
    );
    await first.close();
    expect(outcome, 'the other application still uses the pool').to.equal('running');
    await second.close();
    await call;
    expect(outcome).to.be.instanceOf(BridgeError);
  });
});
