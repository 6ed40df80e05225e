import { expect } from 'chai';
import { describeValue } from '../../src/core/errors.js';
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
