// Legacy dialect only: NestJS decorators are experimentalDecorators decorators.
import 'reflect-metadata';
import { Get, RequestMethod } from '@nestjs/common';
import { METHOD_METADATA, PATH_METADATA } from '@nestjs/common/constants.js';
import { expect } from 'chai';
import { Retry, Timeout } from '../../../src/index.js';

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
});
