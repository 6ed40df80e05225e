// A small mutation sampler, for when StrykerJS is not installed (`npm run mutation` needs it): applies
// Stryker-like mutations (equality, relational, logical, arithmetic, boolean, update, unary-not, if-condition
// and string-literal) to the compiled engines one at a time, in a copy of build/, and runs their tests against
// each. A mutant is killed when a test fails or the run times out. Usage, after `tsc -p .`:
//   node build/test/reliability/mutation/sample.js retry circuit-breaker
import { spawnSync } from 'node:child_process';
import {
  cpSync,
  existsSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';

const root = fileURLToPath(new URL('../../../../', import.meta.url));

/** What to mutate per target, and the tests that cover it. */
const TARGETS: Record<string, { files: string[]; specs: string[] }> = {
  retry: {
    files: ['retry/retry.js', 'retry/backoff.js', 'retry/retry.options.js'],
    specs: [
      'build/test/patterns/retry/*.test.js',
      'build/test/decorators/*.test.js',
      'build/test/reliability/bad-input.test.js',
      'build/test/reliability/mutation-gaps.test.js',
    ],
  },
  'circuit-breaker': {
    files: [
      'circuit-breaker/circuit-breaker.js',
      'circuit-breaker/circuit-breaker.options.js',
      'circuit-breaker/circuit-state.js',
    ],
    specs: [
      'build/test/patterns/circuit-breaker/*.test.js',
      'build/test/decorators/*.test.js',
      'build/test/reliability/bad-input.test.js',
      'build/test/reliability/mutation-gaps.test.js',
    ],
  },
  'rate-limit': {
    files: [
      'rate-limit/rate-limiter.js',
      'rate-limit/rate-limiter.options.js',
      'rate-limit/token-bucket-store.js',
      'rate-limit/waiter-queue.js',
    ],
    specs: [
      'build/test/patterns/rate-limit/*.test.js',
      'build/test/decorators/*.test.js',
      'build/test/reliability/bad-input.test.js',
      'build/test/reliability/token-bucket-precision.test.js',
    ],
  },
  timeout: {
    files: ['timeout/timeout.js', 'timeout/deadline-queue.js', 'timeout/shield.js'],
    specs: [
      'build/test/patterns/timeout/*.test.js',
      'build/test/decorators/*.test.js',
      'build/test/reliability/bad-input.test.js',
      'build/test/reliability/thenables.test.js',
    ],
  },
  fallback: {
    files: ['fallback/fallback.js', 'fallback/fallback.options.js'],
    specs: [
      'build/test/patterns/fallback/*.test.js',
      'build/test/decorators/*.test.js',
      'build/test/reliability/bad-input.test.js',
    ],
  },
  'core-time': {
    files: [
      '../core/deadline-queue.js',
      '../core/lazy-abort.js',
      '../core/abort-listener.js',
      '../core/sleep.js',
    ],
    specs: [
      'build/test/core/*.test.js',
      'build/test/reliability/clock-step.test.js',
      'build/test/patterns/timeout/*.test.js',
    ],
  },
  concurrency: {
    files: [
      'concurrency/concurrency-limiter.js',
      'concurrency/limited-run.js',
      'concurrency/gather.js',
      'concurrency/map-with-limit.js',
      'concurrency/concurrency.options.js',
    ],
    specs: [
      'build/test/patterns/concurrency/*.test.js',
      'build/test/reliability/bad-input.test.js',
      'build/test/reliability/mutation-gaps.test.js',
    ],
  },
  adaptive: {
    files: [
      'concurrency/adaptive/adaptive-concurrency-limiter.js',
      'concurrency/adaptive/adaptive-permit-store.js',
      'concurrency/adaptive/adaptive.options.js',
      'concurrency/adaptive/aimd.js',
      'concurrency/adaptive/gradient.js',
      'concurrency/adaptive/limit-algorithm.js',
      'concurrency/adaptive/no-load-anchor.js',
      'concurrency/adaptive/vegas.js',
    ],
    specs: [
      'build/test/patterns/concurrency/adaptive/*.test.js',
      'build/test/reliability/bad-input.test.js',
      'build/test/reliability/mutation-gaps.test.js',
    ],
  },
  'retry-budget': {
    files: [
      'retry-budget/retry-budget.js',
      'retry-budget/retry-budget-store.js',
      'retry-budget/retry-budget.options.js',
    ],
    specs: [
      'build/test/patterns/retry-budget/*.test.js',
      'build/test/reliability/bad-input.test.js',
      'build/test/reliability/mutation-gaps.test.js',
    ],
  },
  'breaker-window': {
    files: ['circuit-breaker/sliding-window.js', 'circuit-breaker/circuit-breaker.js'],
    specs: [
      'build/test/patterns/circuit-breaker/*.test.js',
      'build/test/reliability/bad-input.test.js',
      'build/test/reliability/mutation-gaps.test.js',
    ],
  },
  hedge: {
    files: ['hedge/hedge.js', 'hedge/latency-quantile.js', 'hedge/hedge.options.js'],
    specs: [
      'build/test/patterns/hedge/*.test.js',
      'build/test/reliability/bad-input.test.js',
      'build/test/reliability/mutation-gaps.test.js',
    ],
  },
  decorators: {
    files: [
      '../decorators/weaver.js',
      '../decorators/pipeline.js',
      '../decorators/stages.js',
      '../decorators/decorator-factory.js',
      '../decorators/metadata.js',
      '../decorators/source.js',
      '../decorators/inline-policies.js',
      '../decorators/introspection.js',
    ],
    // The legacy compile-time checks type-check sources, not the build: they cannot kill a mutant.
    specs: [
      'build/test/decorators/*.test.js',
      'build/test/decorators/legacy/other-decorators.test.js',
      'build/tc39/test/decorators/*.test.js',
      'build/test/reliability/bad-input.test.js',
    ],
  },
  registry: {
    files: [
      '../registry/registry.js',
      '../registry/event-relay.js',
      '../registry/registry.config.js',
      '../registry/policy-kinds.js',
      '../registry/same-options.js',
      '../registry/binding.js',
    ],
    specs: [
      'build/test/registry/*.test.js',
      'build/test/events/*.test.js',
      'build/test/decorators/*.test.js',
      'build/test/testing/*.test.js',
      'build/test/reliability/bad-input.test.js',
    ],
  },
};

interface Mutant {
  readonly file: string;
  readonly start: number;
  readonly end: number;
  readonly replacement: string;
  readonly line: number;
  readonly original: string;
}

const SWAPS: Partial<Record<ts.SyntaxKind, string[]>> = {
  [ts.SyntaxKind.EqualsEqualsEqualsToken]: ['!=='],
  [ts.SyntaxKind.ExclamationEqualsEqualsToken]: ['==='],
  [ts.SyntaxKind.LessThanToken]: ['<=', '>='],
  [ts.SyntaxKind.LessThanEqualsToken]: ['<', '>'],
  [ts.SyntaxKind.GreaterThanToken]: ['>=', '<='],
  [ts.SyntaxKind.GreaterThanEqualsToken]: ['>', '<'],
  [ts.SyntaxKind.AmpersandAmpersandToken]: ['||'],
  [ts.SyntaxKind.BarBarToken]: ['&&'],
  [ts.SyntaxKind.QuestionQuestionToken]: ['&&'],
  [ts.SyntaxKind.AsteriskToken]: ['/'],
  [ts.SyntaxKind.SlashToken]: ['*'],
  [ts.SyntaxKind.TrueKeyword]: ['false'],
  [ts.SyntaxKind.FalseKeyword]: ['true'],
  [ts.SyntaxKind.PlusPlusToken]: ['--'],
  [ts.SyntaxKind.MinusMinusToken]: ['++'],
};

/** Lists the mutants of one compiled file, by walking its syntax tree. */
function mutantsOf(file: string, text: string): Mutant[] {
  const source = ts.createSourceFile(file, text, ts.ScriptTarget.Latest, true, ts.ScriptKind.JS);
  const mutants: Mutant[] = [];
  const add = (node: { getStart(): number; end: number }, replacement: string) => {
    const start = node.getStart();
    mutants.push({
      file,
      start,
      end: node.end,
      replacement,
      line: source.getLineAndCharacterOfPosition(start).line + 1,
      original: text.slice(start, node.end),
    });
  };
  const visit = (node: ts.Node): void => {
    if (ts.isImportDeclaration(node) || ts.isExportDeclaration(node)) return;
    if (ts.isBinaryExpression(node)) {
      const kind = node.operatorToken.kind;
      for (const swap of SWAPS[kind] ?? []) add(node.operatorToken, swap);
      if (kind === ts.SyntaxKind.PlusToken) add(node.operatorToken, '-');
      if (kind === ts.SyntaxKind.MinusToken) add(node.operatorToken, '+');
    } else if (
      node.kind === ts.SyntaxKind.TrueKeyword ||
      node.kind === ts.SyntaxKind.FalseKeyword
    ) {
      for (const swap of SWAPS[node.kind] ?? []) add(node, swap);
    } else if (ts.isPrefixUnaryExpression(node) || ts.isPostfixUnaryExpression(node)) {
      if (node.operator === ts.SyntaxKind.ExclamationToken) add(node, node.operand.getText());
      const swap = SWAPS[node.operator]?.[0];
      if (swap !== undefined) {
        const operand = node.operand.getText();
        add(node, ts.isPrefixUnaryExpression(node) ? `${swap}${operand}` : `${operand}${swap}`);
      }
    } else if (ts.isIfStatement(node) || ts.isConditionalExpression(node)) {
      const condition = ts.isIfStatement(node) ? node.expression : node.condition;
      add(condition, 'true');
      add(condition, 'false');
    } else if (
      ts.isStringLiteral(node) &&
      node.text !== '' &&
      !ts.isPropertyAssignment(node.parent)
    ) {
      add(node, '""');
    } else if (
      ts.isReturnStatement(node) &&
      node.expression !== undefined &&
      node.expression.getText() !== 'undefined'
    ) {
      add(node, 'return undefined;');
    }
    ts.forEachChild(node, visit);
  };
  visit(source);
  return mutants;
}

function sandbox(): string {
  const dir = mkdtempSync(join(tmpdir(), 'dspu-mutants-'));
  cpSync(join(root, 'build'), join(dir, 'build'), { recursive: true });
  cpSync(join(root, 'package.json'), join(dir, 'package.json'));
  cpSync(join(root, '.mocharc.json'), join(dir, '.mocharc.json'));
  cpSync(join(root, 'test/support'), join(dir, 'test/support'), { recursive: true });
  symlinkSync(join(root, 'node_modules'), join(dir, 'node_modules'), 'dir');
  return dir;
}

function runTests(dir: string, specs: string[]): 'passed' | 'failed' | 'timeout' {
  const mocha = join(root, 'node_modules/mocha/bin/mocha.js');
  const result = spawnSync(
    process.execPath,
    [mocha, '--bail', '--exit', '--reporter', 'dot', ...specs],
    { cwd: dir, timeout: 60_000, stdio: 'ignore' },
  );
  if (result.error !== undefined || result.signal !== null) return 'timeout';
  return result.status === 0 ? 'passed' : 'failed';
}

const names = process.argv.slice(2);
// MUTANT_LIMIT caps the mutants per file (a quick check of the sampler itself).
const limit = Number(process.env.MUTANT_LIMIT ?? Infinity);
const dir = sandbox();
let killed = 0;
let total = 0;
const survivors: string[] = [];
try {
  for (const name of names.length > 0 ? names : Object.keys(TARGETS)) {
    const target = TARGETS[name];
    if (!target) throw new Error(`unknown target ${name}`);
    if (runTests(dir, target.specs) !== 'passed') throw new Error(`${name}: tests fail unmutated`);
    let targetKilled = 0;
    let targetTotal = 0;
    for (const file of target.files) {
      const path = join(dir, 'build/src/patterns', file);
      const text = readFileSync(path, 'utf8');
      // The TC39 build compiles its own copy of src; mutated alike, its tests can kill the mutant too.
      const twin = join(dir, 'build/tc39/src/patterns', file);
      const paths = existsSync(twin) && readFileSync(twin, 'utf8') === text ? [path, twin] : [path];
      for (const mutant of mutantsOf(file, text).slice(0, limit)) {
        const mutated = text.slice(0, mutant.start) + mutant.replacement + text.slice(mutant.end);
        for (const each of paths) writeFileSync(each, mutated);
        const outcome = runTests(dir, target.specs);
        targetTotal++;
        if (outcome === 'passed') {
          const original = mutant.original.replace(/\s+/g, ' ').slice(0, 70);
          survivors.push(`${file}:${mutant.line}  ${original}  ->  ${mutant.replacement}`);
          console.log(`survived ${survivors.at(-1)}`);
        } else targetKilled++;
      }
      for (const each of paths) writeFileSync(each, text);
    }
    killed += targetKilled;
    total += targetTotal;
    console.log(
      `${name}: ${targetKilled}/${targetTotal} killed (${((100 * targetKilled) / targetTotal).toFixed(1)}%)`,
    );
  }
  console.log(`mutation score ${((100 * killed) / total).toFixed(1)}% (${killed}/${total})`);
  console.log(`survivors:\n  ${survivors.join('\n  ')}`);
} finally {
  rmSync(dir, { recursive: true, force: true });
}
