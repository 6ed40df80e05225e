import { expect } from 'chai';
import { BridgeError } from '../../src/index.js';

/**
 * Functions that throw what a worker can neither copy nor print plainly: each must come back as the error it
 * threw (or a BridgeError describing the value), never as a crash of the worker.
 */
export const HOSTILE_THROWS: {
  label: string;
  fn: () => Promise<never>;
  expected: (error: Error) => void;
}[] = [
  {
    label: 'a null-prototype object holding a function',
    fn: async () => {
      throw Object.assign(Object.create(null) as object, { f: () => 1 });
    },
    expected: (error) => {
      expect(error).to.be.instanceOf(BridgeError);
      expect(error.message).to.include('threw a non-Error value');
    },
  },
  {
    label: 'a revoked Proxy',
    fn: async () => {
      const { proxy, revoke } = Proxy.revocable({}, {});
      revoke();
      throw proxy;
    },
    expected: (error) => {
      expect(error).to.be.instanceOf(BridgeError);
      expect(error.message).to.include('threw a non-Error value');
    },
  },
  {
    label: 'an error whose name is a symbol',
    fn: async () => {
      const error = new RangeError('out of range');
      Object.defineProperty(error, 'name', { value: Symbol('odd') });
      throw error;
    },
    expected: (error) => {
      expect(error).to.be.instanceOf(RangeError);
      expect(error.message).to.equal('out of range');
    },
  },
  {
    label: 'an error whose message getter throws',
    fn: async () => {
      const error = new TypeError('hidden');
      Object.defineProperty(error, 'message', {
        get() {
          throw new Error('message refused');
        },
      });
      throw error;
    },
    expected: (error) => {
      expect(error).to.be.instanceOf(TypeError);
    },
  },
  {
    label: 'an error whose cause cannot be copied nor printed',
    fn: async () => {
      throw new Error('outer', {
        cause: Object.assign(Object.create(null) as object, { f: () => 1 }),
      });
    },
    expected: (error) => {
      expect(error.message).to.equal('outer');
      expect(error.cause).to.be.a('string');
    },
  },
];
