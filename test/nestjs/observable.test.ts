import 'reflect-metadata';
import { Controller, Get, Module } from '@nestjs/common';
import { expect } from 'chai';
// A value import, as Nest code has it: TypeScript then records Observable as the declared return type.
import { defer, firstValueFrom, Observable, of, throwError } from 'rxjs';
import { ConfigError, Retry, Timeout } from '../../src/index.js';
import { ResilienceModule } from '../../src/nestjs/index.js';
import { listen, rejectionOf, type RunningApp } from './support.js';

let subscriptions = 0;
// A cold Observable, as HttpService returns: each subscription is a new request; the first one fails.
function upstream$(): Observable<string> {
  return defer(() =>
    ++subscriptions === 1 ? throwError(() => new Error('upstream hiccup')) : of('quote'),
  );
}

@Controller()
class RecipeController {
  @Get('recipe')
  @Retry({ maxAttempts: 3, baseDelay: 0 })
  @Timeout('1s')
  async recipe(): Promise<{ quote: string; subscriptions: number }> {
    const quote = await firstValueFrom(upstream$());
    return { quote, subscriptions };
  }

  // Declared without its type (TypeScript records Object): only the call can tell.
  @Get('untyped')
  @Retry({ maxAttempts: 3, baseDelay: 0 })
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  untyped(): any {
    return upstream$();
  }
}

@Module({ imports: [ResilienceModule.forRoot({ http: true })], controllers: [RecipeController] })
class RecipeModule {}

@Controller()
class DeclaredObservableController {
  @Get('declared')
  // @ts-expect-error the types already refuse it; the check is for code the types do not see
  @Retry({ maxAttempts: 3 })
  declared(): Observable<string> {
    return upstream$();
  }
}

@Module({
  imports: [ResilienceModule.forRoot({ http: true })],
  controllers: [DeclaredObservableController],
})
class DeclaredModule {}

describe('nestjs: a decorated method that returns an Observable', () => {
  let running: RunningApp;

  beforeEach(async () => {
    subscriptions = 0;
    running = await listen(RecipeModule);
  });

  afterEach(async () => {
    await running.app.close();
  });

  it('fails the bootstrap when the method is declared to return an Observable, naming it and the recipe', async () => {
    const error = await rejectionOf(
      listen(DeclaredModule).then(async ({ app }) => {
        await app.close();
      }),
    );
    expect(error).to.be.instanceOf(ConfigError);
    expect(error.message).to.contain('DeclaredObservableController.declared returns an Observable');
    expect(error.message).to.contain('firstValueFrom');
  });

  it('fails its call, without subscribing, when only the returned value shows it', async () => {
    const response = await fetch(`${running.url}/untyped`);
    expect(response.status).to.equal(500);
    const error = await rejectionOf(
      running.app.get(RecipeController).untyped() as Promise<unknown>,
    );
    expect(error).to.be.instanceOf(ConfigError);
    expect(error.message).to.match(/^RecipeController\.untyped returns an Observable/);
    expect(subscriptions).to.equal(0);
  });

  it('applies the policies to the Observable’s work once it is awaited with firstValueFrom', async () => {
    const response = await fetch(`${running.url}/recipe`);
    expect(response.status).to.equal(200);
    expect(await response.json()).to.deep.equal({ quote: 'quote', subscriptions: 2 });
  });
});
