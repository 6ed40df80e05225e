import { expect } from 'chai';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';

const root = fileURLToPath(new URL('../../../../', import.meta.url));

/** Type-checks one fixture with the project's options and returns its error messages. */
function typeErrors(fixture: string, experimentalDecorators: boolean): string[] {
  const file = `${root}test/fixtures/${fixture.endsWith('.fail.ts') ? 'compile-fail' : 'types'}/${fixture}`;
  const program = ts.createProgram([file], {
    target: ts.ScriptTarget.ES2022,
    module: ts.ModuleKind.NodeNext,
    moduleResolution: ts.ModuleResolutionKind.NodeNext,
    lib: ['lib.es2023.d.ts', 'lib.esnext.disposable.d.ts', 'lib.esnext.decorators.d.ts'],
    types: ['node'],
    strict: true,
    experimentalDecorators,
    emitDecoratorMetadata: experimentalDecorators,
    skipLibCheck: true,
    noEmit: true,
  });
  return ts
    .getPreEmitDiagnostics(program)
    .filter((d) => d.file?.fileName === file)
    .map((d) => ts.flattenDiagnosticMessageText(d.messageText, '\n'));
}

describe('decorators: compile-time checks', function () {
  this.timeout(60_000);

  it('rejects a decorator on a method that does not return a promise (experimentalDecorators)', () => {
    const errors = typeErrors('sync-method.fail.ts', true);
    expect(errors).to.have.length(2);
    expect(errors.join('\n')).to.match(/PromiseLike|Promise/);
  });

  it('rejects a decorator on a method that does not return a promise (TC39 decorators)', () => {
    const errors = typeErrors('sync-method-tc39.fail.ts', false);
    expect(errors).to.have.length(1);
  });

  it('rejects a decorated async method that resolves to an Observable, in both dialects', () => {
    for (const legacy of [true, false]) {
      const errors = typeErrors('observable-promise.fail.ts', legacy);
      expect(errors, errors.join('\n')).to.have.length(2);
    }
  });

  it('rejects an undeclared policy name at compile time once names are declared', () => {
    const errors = typeErrors('typed-names.fail.ts', true);
    expect(errors, errors.join('\n')).to.have.length(2);
    expect(errors.join('\n'))
      .to.match(/"paymnts"/)
      .and.to.match(/"gitlab"/);
  });

  it('lets result predicates see the result type, and compiles the unannotated form', () => {
    for (const legacy of [true, false]) {
      const errors = typeErrors('result-predicates.ts', legacy);
      expect(errors, errors.join('\n')).to.deep.equal([]);
    }
  });

  it('rejects a result predicate for another type than the method resolves to', () => {
    const errors = typeErrors('result-predicates.fail.ts', true);
    expect(errors, errors.join('\n')).to.have.length(4);
    expect(errors.join('\n'))
      .to.match(/status/)
      .and.to.match(/code/);
  });
});
