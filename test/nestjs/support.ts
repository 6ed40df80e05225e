import type { INestApplication } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import type { AddressInfo } from 'node:net';

/** A Nest application listening on a loopback port, with its base URL. */
export interface RunningApp {
  readonly app: INestApplication;
  readonly url: string;
}

/** Boots `module` as a real HTTP application on 127.0.0.1, port 0; `setup` runs before it listens. */
export async function listen(
  module: Parameters<typeof NestFactory.create>[0],
  setup: (app: INestApplication) => void = () => undefined,
): Promise<RunningApp> {
  const app = await NestFactory.create(module, { logger: false, abortOnError: false });
  setup(app);
  try {
    await app.listen(0, '127.0.0.1');
  } catch (error) {
    await app.close();
    throw error;
  }
  const { port } = app.getHttpServer().address() as AddressInfo;
  return { app, url: `http://127.0.0.1:${port}` };
}

/** The rejection of `promise`, or a failure when it fulfils. */
export async function rejectionOf(promise: Promise<unknown>): Promise<Error> {
  try {
    await promise;
  } catch (error) {
    return error as Error;
  }
  throw new Error('expected a rejection, but the promise fulfilled');
}
