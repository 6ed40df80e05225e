// The API reference: one module per entry of package.json `exports`, so a new entry is documented too.
import { readFileSync } from 'node:fs';
import { URL } from 'node:url';

const { exports: entries } = JSON.parse(
  readFileSync(new URL('./package.json', import.meta.url), 'utf8'),
);
const entryPoints = Object.keys(entries)
  .filter((key) => key !== './package.json')
  .map((key) => (key === '.' ? 'src/index.ts' : `src/${key.slice(2)}/index.ts`));

/** @type {Partial<import('typedoc').TypeDocOptions>} */
export default {
  entryPoints,
  tsconfig: 'tsconfig.build.json',
  out: 'build/docs',
  excludeInternal: true,
  excludePrivate: true,
  excludeProtected: true,
  validation: {
    notExported: true,
    invalidLink: true,
    notDocumented: true,
  },
  treatWarningsAsErrors: true,
  readme: 'README.md',
  disableSources: true,
  requiredToBeDocumented: [
    'Class',
    'Function',
    'Variable',
    'Interface',
    'TypeAlias',
    'Enum',
    'Method',
    'Accessor',
    'Namespace',
    'Module',
  ],
  // Internal tables and key unions a user never names: the types built on them are documented instead.
  intentionallyNotExported: [
    'AnyClass',
    'POLICY_KINDS',
    'RESOURCE_KINDS',
    'NamedKind',
    'ConfigKind',
    'Merge',
    'Sourced',
    'CircuitBreaker',
    'Timeout',
  ],
  ignoredHighlightLanguages: ['mermaid'],
};
