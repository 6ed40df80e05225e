// Legacy dialect only: NestJS decorators are experimentalDecorators decorators.
import 'reflect-metadata';
import { Get, RequestMethod } from '@nestjs/common';
import { METHOD_METADATA, PATH_METADATA } from '@nestjs/common/constants.js';
import { expect } from 'chai';
import { ConfigError, Retry, Timeout } from '../../../src/index.js';

// Shaped as RxJS's Observable: what a method's declared return type is recognised by.
class Stream {
  subscribe(): void {}
  pipe(): this {
    return this;
  }
}

describe('decorators: metadata of other decorators', () => {
  it('keeps a NestJS route decorator’s metadata whether it sits above or below ours', () => {
    class UsersController {
      @Get('above')
      @Retry()
      async above() {
        return 'a';
      }

      @Retry()
      @Get('below')
      @Timeout('1s')
      async below() {
        return 'b';
      }
    }
    for (const [method, path] of [
      ['above', 'above'],
      ['below', 'below'],
    ] as const) {
      const fn = UsersController.prototype[method];
      expect(Reflect.getMetadata(PATH_METADATA, fn), method).to.equal(path);
      expect(Reflect.getMetadata(METHOD_METADATA, fn), method).to.equal(RequestMethod.GET);
    }
  });

  it('keeps emitDecoratorMetadata’s design types on the method', () => {
    class Svc {
      @Retry()
      async find(_id: string, _limit: number): Promise<string> {
        return '';
      }
    }
    expect(Reflect.getMetadata('design:paramtypes', Svc.prototype, 'find')).to.deep.equal([
      String,
      Number,
    ]);
    expect(Reflect.getMetadata('design:returntype', Svc.prototype, 'find')).to.equal(Promise);
  });

  it('refuses a method declared to return an Observable, instance or static, without running it', async () => {
    let runs = 0;
    class Quotes {
      // @ts-expect-error the types already refuse it; the check is for code the types do not see
      @Retry()
      latest(): Stream {
        runs++;
        return Promise.resolve('quote') as never;
      }

      // @ts-expect-error the types already refuse it; the check is for code the types do not see
      @Retry()
      static first(): Stream {
        runs++;
        return Promise.resolve('quote') as never;
      }
    }
    const calls = [
      ['Quotes.latest', () => new Quotes().latest()],
      ['Quotes.first', () => Quotes.first()],
    ] as const;
    for (const [label, call] of calls) {
      const error = await (call() as unknown as Promise<unknown>).catch(
        (caught: unknown) => caught,
      );
      expect(error, label).to.be.instanceOf(ConfigError);
      expect((error as Error).message, label).to.match(
        new RegExp(`^${label} returns an Observable`),
      );
    }
    expect(runs).to.equal(0);
  });
});
