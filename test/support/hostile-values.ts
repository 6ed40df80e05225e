/**
 * Values that break code which assumes well-behaved input: inspecting them (`Array.isArray`,
 * `Object.getPrototypeOf`, `instanceof`, `JSON.stringify`, reading a property) throws, or they are of a type
 * that string templates and arithmetic refuse (symbols, BigInt). Each comes with a label for test titles,
 * since rendering the value itself may throw.
 */
export interface Hostile {
  readonly label: string;
  readonly value: unknown;
}

function revoked<T extends object>(target: T): T {
  const { proxy, revoke } = Proxy.revocable(target, {});
  revoke();
  return proxy;
}

/** A Proxy whose every trap throws: any inspection beyond `typeof` fails. */
function trapping<T extends object>(target: T): T {
  const refuse = () => {
    throw new Error('trap refused');
  };
  return new Proxy(target, {
    get: refuse,
    has: refuse,
    ownKeys: refuse,
    getOwnPropertyDescriptor: refuse,
    getPrototypeOf: refuse,
    defineProperty: refuse,
    set: refuse,
    apply: refuse,
    construct: refuse,
  });
}

function throwingGetter(key: string | symbol): object {
  return Object.defineProperty({}, key, {
    enumerable: true,
    get() {
      throw new Error(`getter ${String(key)} refused`);
    },
  });
}

/** Hostile values, none of them a valid option value anywhere. */
export const HOSTILE_VALUES: readonly Hostile[] = [
  { label: 'a revoked Proxy', value: revoked({}) },
  { label: 'a revoked Proxy of an array', value: revoked([]) },
  { label: 'a Proxy whose traps throw', value: trapping({}) },
  { label: 'an object whose toJSON getter throws', value: throwingGetter('toJSON') },
  { label: 'an object whose constructor getter throws', value: throwingGetter('constructor') },
  {
    label: 'an object whose Symbol.toStringTag getter throws',
    value: throwingGetter(Symbol.toStringTag),
  },
  { label: 'an object whose prototype is a revoked Proxy', value: Object.create(revoked({})) },
  { label: 'a BigInt', value: 10n },
  { label: 'a symbol', value: Symbol('ten') },
];

/**
 * Hostile values that pass `typeof value === 'function'`: a function option accepts them (calling one fails
 * later, as any throwing function does), every other option must refuse them.
 */
export const HOSTILE_FUNCTIONS: readonly Hostile[] = [
  { label: 'a revoked Proxy of a function', value: revoked(() => 1) },
  { label: 'a Proxy of a function whose traps throw', value: trapping(() => 1) },
  {
    label: 'a function whose name getter throws',
    value: Object.defineProperty(() => 1, 'name', {
      get() {
        throw new Error('name refused');
      },
    }),
  },
];

/** An options object that cannot be read at all, in the ways a Proxy can refuse. */
export const UNREADABLE_OBJECTS: readonly Hostile[] = [
  { label: 'a revoked Proxy', value: revoked({}) },
  { label: 'a Proxy whose traps throw', value: trapping({}) },
  {
    label: 'a Proxy whose ownKeys trap throws',
    value: new Proxy(
      {},
      {
        ownKeys() {
          throw new Error('ownKeys refused');
        },
      },
    ),
  },
];

/** `options` with a getter on `key` that throws when read. */
export function withThrowingGetter(options: object, key: string): object {
  return Object.defineProperty({ ...options }, key, {
    enumerable: true,
    get() {
      throw new Error(`${key} refused`);
    },
  });
}

/**
 * The same valid options in the shapes a caller may legitimately hand over: each must be accepted and read
 * exactly as the plain object would be.
 */
export function sameOptionsReshaped<T extends object>(options: T): Hostile[] {
  return [
    { label: 'a frozen object', value: Object.freeze({ ...options }) },
    {
      label: 'a null-prototype object',
      value: Object.assign(Object.create(null) as object, options),
    },
    { label: 'a transparent Proxy', value: new Proxy({ ...options }, {}) },
    {
      label: 'an object with getters',
      value: Object.defineProperties(
        {},
        Object.fromEntries(
          Object.entries(options).map(([key, value]) => [
            key,
            { enumerable: true, get: () => value as unknown },
          ]),
        ),
      ),
    },
  ];
}
