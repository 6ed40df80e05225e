import { expect } from 'chai';
import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { promisify } from 'node:util';
import { packedConsumer, repoRoot } from './consumer.js';

const run = promisify(execFile);

interface Block {
  /** The README line of the block's first line of code (the line after its opening fence). */
  readonly line: number;
  readonly code: string;
  readonly file: string;
}

/** Every ```ts or ```typescript block of the README, with where it starts. */
function typeScriptBlocks(markdown: string): Block[] {
  const blocks: Block[] = [];
  const lines = markdown.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const opening = /^(\s*)(`{3,})(ts|typescript)\s*$/.exec(lines[i]);
    if (!opening) continue;
    const [, indent, fence] = opening;
    const start = i + 1;
    let end = start;
    while (end < lines.length && lines[end].trim() !== fence) end++;
    const code = lines
      .slice(start, end)
      .map((line) => (line.startsWith(indent) ? line.slice(indent.length) : line))
      .join('\n');
    blocks.push({ line: start + 1, code, file: `readme-line-${start + 1}.ts` });
    i = end;
  }
  return blocks;
}

/*
 * Each block is its own module in a project that installed the packed package: what a reader who copies it
 * into an ES module project gets, with strict on and the decorators NestJS uses. The testing section's
 * blocks also find mocha, chai, sinon, Jest's and Vitest's globals and @nestjs/testing there.
 */
const compilerOptions = {
  module: 'nodenext',
  moduleResolution: 'nodenext',
  moduleDetection: 'force',
  target: 'es2022',
  lib: ['es2023', 'dom'],
  strict: true,
  noEmit: true,
  skipLibCheck: true,
  types: ['node', 'mocha'],
  experimentalDecorators: true,
  emitDecoratorMetadata: true,
};
const testTools = [
  'chai',
  '@types/chai',
  'sinon',
  '@types/sinon',
  '@types/mocha',
  '@jest/globals',
  'vitest',
  '@nestjs/testing',
];

/** Type-checks blocks together in one program; returns the compiler's errors, in README terms. */
async function compile(blocks: readonly Block[], name: string): Promise<string> {
  const { dir } = packedConsumer();
  for (const block of blocks) writeFileSync(join(dir, block.file), block.code + '\n');
  const files = blocks.map((block) => block.file);
  const config = `tsconfig.readme-${name}.json`;
  writeFileSync(join(dir, config), JSON.stringify({ compilerOptions, files }));
  const tsc = join(repoRoot, 'node_modules', 'typescript', 'bin', 'tsc');
  const output = await run(process.execPath, [tsc, '-p', config, '--pretty', 'false'], {
    cwd: dir,
  }).then(
    () => '',
    (error: Error & { stdout?: string }) => error.stdout || error.message,
  );
  return inReadmeTerms(output, blocks);
}

describe('README', function () {
  this.timeout(120_000);

  before(() => {
    const { dir } = packedConsumer();
    for (const name of testTools) {
      const link = join(dir, 'node_modules', name);
      if (existsSync(link)) continue;
      mkdirSync(dirname(link), { recursive: true });
      symlinkSync(join(repoRoot, 'node_modules', name), link, 'dir');
    }
  });

  it('has TypeScript blocks that all compile against the packed package', async () => {
    const blocks = typeScriptBlocks(readFileSync(join(repoRoot, 'README.md'), 'utf8'));
    expect(blocks).to.not.be.empty;
    // A block that augments a module (declare module 'dspu' { … }) would change the others: it gets its own.
    const augmenting = blocks.filter((block) => /^\s*declare (module|global)\b/m.test(block.code));
    const shared = blocks.filter((block) => !augmenting.includes(block));
    const reports = await Promise.all([
      compile(shared, 'shared'),
      ...augmenting.map((block) => compile([block], String(block.line))),
    ]);
    const report = reports.filter(Boolean).join('\n');
    if (report) expect.fail(`README TypeScript blocks that do not compile:\n${report}`);
  });
});

/** Rewrites `readme-line-120.ts(3,5): error …` as `README.md:122:5 (the block at line 120): error …`. */
function inReadmeTerms(output: string, blocks: readonly Block[]): string {
  const starts = new Map(blocks.map((block) => [block.file, block.line]));
  return output
    .trim()
    .split('\n')
    .filter((line) => line.length > 0)
    .map((line) =>
      line.replace(/^(readme-line-\d+\.ts)\((\d+),(\d+)\)/, (whole, file: string, row, column) => {
        const start = starts.get(file);
        if (start === undefined) return whole;
        return `README.md:${start + Number(row) - 1}:${column} (the block at line ${start})`;
      }),
    )
    .join('\n');
}
