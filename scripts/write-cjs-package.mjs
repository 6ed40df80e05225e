// dist/cjs holds CommonJS files inside a `"type": "module"` package: this marker tells Node (and TypeScript) so.
import { writeFileSync } from 'node:fs';
writeFileSync('dist/cjs/package.json', JSON.stringify({ type: 'commonjs' }) + '\n');
