import { expect } from 'chai';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import * as esbuild from 'esbuild';
import { packedConsumer } from './consumer.js';
import { runNode } from '../support/node-process.js';

/** `program` (TypeScript, legacy decorators) bundled from the installed package as a bundler does, minified. */
async function bundle(program: string): Promise<string> {
  const built = await esbuild.build({
    stdin: { contents: program, resolveDir: packedConsumer().dir, loader: 'ts' },
    bundle: true,
    minify: true,
    platform: 'node',
    format: 'esm',
    external: ['reflect-metadata'],
    tsconfigRaw: { compilerOptions: { experimentalDecorators: true } },
    write: false,
  });
  return built.outputFiles[0].text;
}

async function run(code: string): Promise<unknown> {
  const file = join(packedConsumer().dir, `bundle-${Date.now()}.mjs`);
  writeFileSync(file, code);
  const { code: exit, stdout, stderr } = await runNode([file]);
  expect(exit, stderr).to.equal(0);
  return JSON.parse(stdout.trim().split('\n').at(-1)!);
}

describe('the packed package, bundled by a bundler', function () {
  this.timeout(60_000);

  before(() => packedConsumer());

  it('bundles only the engines of the decorators in use, which run without a registry', async () => {
    const code = await bundle(`
      import { Retry, Timeout } from 'dspu';
      let calls = 0;
      class Client {
        @Timeout('1s')
        @Retry({ maxAttempts: 3, baseDelay: 1 })
        async get() {
          if (++calls < 3) throw new Error('flaky');
          return 'ok after ' + calls;
        }
      }
      class Named {
        @Retry('payments')
        async get() { return 'never'; }
      }
      const named = await new Named()
        .get()
        .catch((e) => [e.code, /"payments" names a registry policy.*uses no registry/.test(e.message)]);
      console.log(JSON.stringify({ result: await new Client().get(), named }));
    `);
    // The registry (its configuration checks) and the other engines (the breaker's options) are left out.
    expect(code).to.not.include('unknown policy kind');
    expect(code).to.not.include('halfOpenMaxCalls');
    expect(code.length).to.be.below(35_000);
    expect(await run(code)).to.deep.equal({
      result: 'ok after 3',
      named: ['ERR_CONFIG', true],
    });
  });

  it('resolves names once the program uses the registry', async () => {
    const code = await bundle(`
      import { Retry, registry } from 'dspu';
      registry.configure({ retry: { payments: { maxAttempts: 2, baseDelay: 1 } } });
      let calls = 0;
      class Named {
        @Retry('payments')
        async get() {
          if (++calls < 2) throw new Error('flaky');
          return 'ok after ' + calls;
        }
      }
      console.log(JSON.stringify({ result: await new Named().get() }));
    `);
    expect(await run(code)).to.deep.equal({ result: 'ok after 2' });
  });
});
