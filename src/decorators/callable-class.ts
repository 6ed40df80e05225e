/**
 * Makes one export that is both a class (`new X(options)`, `instanceof X`) and a decorator factory (`@X(...)`).
 * A Proxy forwards construction and `prototype` to the class and sends plain calls to `decorate`.
 */
export function callableClass<
  C extends abstract new (...args: never[]) => object,
  F extends (...args: never[]) => unknown,
>(Class: C, decorate: F): C & F {
  return new Proxy(Class, {
    apply: (_target, _self, args: unknown[]) => decorate(...(args as Parameters<F>)),
  }) as C & F;
}
