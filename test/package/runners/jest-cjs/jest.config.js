// A Nest 11 project's Jest setup: ts-jest compiles TypeScript to CommonJS with the project's tsconfig.
module.exports = {
  testEnvironment: 'node',
  testRegex: '\\.spec\\.ts$',
  transform: { '^.+\\.ts$': ['ts-jest', { tsconfig: 'tsconfig.json' }] },
  // Sources import siblings as ES modules do (`./x.js`); Jest resolves the `.ts` file.
  moduleNameMapper: { '^(\\.{1,2}/.*)\\.js$': '$1' },
};
