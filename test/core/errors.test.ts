import { expect } from 'chai';
import { ConfigError, describeValue, isUnlistedError } from '../../src/core/errors.js';
import { HOSTILE_FUNCTIONS, HOSTILE_VALUES } from '../support/hostile-values.js';

describe('describeValue', () => {
  for (const { label, value } of [...HOSTILE_VALUES, ...HOSTILE_FUNCTIONS]) {
    it(`renders ${label} without throwing`, () => {
      const text = describeValue(value);
      expect(text).to.be.a('string').and.not.equal('');
      expect(text.length).to.be.below(100);
    });
  }

  it('renders a BigInt with its suffix and a symbol with its description', () => {
    expect(describeValue(10n)).to.equal('10n');
    expect(describeValue(Symbol('ten'))).to.equal('Symbol(ten)');
  });

  it('renders null-prototype and frozen objects as their contents', () => {
    expect(describeValue(Object.assign(Object.create(null) as object, { a: 1 }))).to.equal(
      '{"a":1}',
    );
    expect(describeValue(Object.freeze({ a: 1 }))).to.equal('{"a":1}');
  });
});

describe('isUnlistedError', () => {
  it('answers false, never throws, for an error that cannot be inspected', () => {
    for (const { value } of HOSTILE_VALUES)
      expect(isUnlistedError(value, ConfigError, [TypeError])).to.equal(false);
  });

  it('tells a ConfigError that exceptions do not name from one they do', () => {
    const error = ConfigError.invalid('x', 'a number', 'y');
    expect(isUnlistedError(error, ConfigError, undefined)).to.equal(true);
    expect(isUnlistedError(error, ConfigError, [ConfigError])).to.equal(false);
    expect(isUnlistedError(new Error('x'), ConfigError, undefined)).to.equal(false);
  });
});
