import { expect } from 'chai';
import { entrySpecifiers, packedConsumer, runInConsumer } from './consumer.js';

describe('the packed package, installed in a fresh project', function () {
  this.timeout(60_000);

  before(() => packedConsumer());

  it('ships the build, README, LICENSE and CHANGELOG, and no sources, tests or build info', () => {
    const { files } = packedConsumer();
    for (const file of [
      'package.json',
      'README.md',
      'LICENSE',
      'CHANGELOG.md',
      'dist/cjs/index.js',
      'dist/cjs/index.d.ts',
      'dist/node/index.js',
      'dist/esm/index.js',
      'dist/esm/index.d.ts',
    ]) {
      expect(files, file).to.include(file);
    }
    const unexpected = files.filter(
      (file) =>
        !/^(dist\/(cjs|esm|node)\/|package\.json$|README\.md$|LICENSE$|CHANGELOG\.md$)/.test(file),
    );
    expect(unexpected).to.deep.equal([]);
    expect(
      files.filter((file) => /\.(ts|tsbuildinfo|map)$/.test(file) && !file.endsWith('.d.ts')),
    ).to.deep.equal([]);
  });

  for (const specifier of entrySpecifiers) {
    it(`loads ${specifier} through require and import, with the same exports`, () => {
      const source = `
        import { createRequire } from 'node:module';
        const required = createRequire(import.meta.url)(${JSON.stringify(specifier)});
        const imported = await import(${JSON.stringify(specifier)});
        console.log(JSON.stringify({ required: Object.keys(required).sort(), imported: Object.keys(imported).sort() }));
      `;
      const { required, imported } = runInConsumer(source, 'module') as Record<string, string[]>;
      expect(required).to.not.be.empty;
      expect(imported).to.deep.equal(required);
    });
  }

  it('keeps the name of every exported class and function, which errors and NestJS logs show', () => {
    // Bundling renames a class whose body names it, or that shares its name with another binding.
    const source = `
      const renamed = [];
      for (const entry of ${JSON.stringify(entrySpecifiers)}) {
        for (const [name, value] of Object.entries(require(entry)))
          if (typeof value === 'function' && value.name !== name) renamed.push(entry + ': ' + name + ' is ' + value.name);
      }
      const { ConfigError } = require('dspu');
      console.log(JSON.stringify({ renamed, errorName: ConfigError.invalid('x', 'y', 1).name }));
    `;
    expect(runInConsumer(source, 'commonjs')).to.deep.equal({
      renamed: [],
      errorName: 'ConfigError',
    });
  });

  it('loads every entry from a CommonJS script', () => {
    const source = `
      const loaded = ${JSON.stringify(entrySpecifiers)}.map((name) => Object.keys(require(name)).length);
      console.log(JSON.stringify(loaded));
    `;
    const counts = runInConsumer(source, 'commonjs') as number[];
    expect(
      counts.every((count) => count > 0),
      String(counts),
    ).to.equal(true);
  });

  it('gives a process that requires one entry and imports another one registry and one set of errors', () => {
    const source = `
      import { createRequire } from 'node:module';
      const require = createRequire(import.meta.url);
      const nestRequired = require('dspu/nestjs');
      const coreRequired = require('dspu');
      const coreImported = await import('dspu');
      const nestImported = await import('dspu/nestjs');
      const imported = new coreImported.CircuitBreakerError('open', 1000);
      const required = new coreRequired.RateLimitExceededError(1000);
      console.log(JSON.stringify({
        registry: coreImported.registry === coreRequired.registry,
        instanceOf: imported instanceof coreRequired.CircuitBreakerError,
        instanceOfBack: required instanceof coreImported.RateLimitExceededError,
        statusFromRequired: nestRequired.toHttpResponse(imported)?.status,
        statusFromImported: nestImported.toHttpResponse(required)?.status,
      }));
    `;
    expect(runInConsumer(source, 'module')).to.deep.equal({
      registry: true,
      instanceOf: true,
      instanceOfBack: true,
      statusFromRequired: 503,
      statusFromImported: 429,
    });
  });

  it('loads reflect-metadata at the first decorator and worker_threads at the first bridge call', () => {
    const source = `
      const loaded = () => ({
        reflectMetadata: typeof Reflect.getOwnMetadata === 'function',
        workerThreads: process.moduleLoadList.includes('NativeModule worker_threads'),
      });
      const dspu = await import('dspu');
      const out = { atImport: loaded() };
      class Api { async call() { return 1; } }
      dspu.Retry({ maxAttempts: 2 })(Api.prototype, 'call', Object.getOwnPropertyDescriptor(Api.prototype, 'call'));
      out.afterDecorator = loaded();
      out.doubled = await dspu.runInExecutor((n) => n * 2, 21);
      out.afterBridge = loaded();
      await dspu.shutdownExecutor();
      console.log(JSON.stringify(out));
    `;
    expect(runInConsumer(source, 'module')).to.deep.equal({
      atImport: { reflectMetadata: false, workerThreads: false },
      afterDecorator: { reflectMetadata: true, workerThreads: false },
      doubled: 42,
      afterBridge: { reflectMetadata: true, workerThreads: true },
    });
  });
});
