import type { CallWrapper } from '../contract.ts';
import type { CloudError } from '../errors.ts';

/** Turns what an SDK threw into a CloudError that keeps the cloud's own code; `context` is what the call asked for, where the code alone is ambiguous. */
export type SdkErrorMapper<Context = never> = (err: unknown, operation: string, context?: Context) => CloudError;

/** Without an injected wrapper (tests, the tour) a call simply runs. */
const runDirectly: CallWrapper = (_operation, call) => call();

/**
 * How every adapter runs one cloud call: get the SDK client, then run the
 * call inside the injected wrapper (ipamd's call gate) with its failure
 * already mapped, so the wrapper's retry and metrics logic can read the
 * CloudError's kind. Getting the client stays outside the wrapper: building
 * it (which may read instance metadata) is not a cloud call.
 */
export class SdkCaller<Client, Context = never> {
  /** The injected wrapper, for the few calls an adapter makes without the SDK (Azure's IMDS read). */
  readonly wrap: CallWrapper;

  constructor(
    private readonly client: () => Promise<Client>,
    private readonly mapError: SdkErrorMapper<Context>,
    wrap: CallWrapper | undefined,
  ) {
    this.wrap = wrap ?? runDirectly;
  }

  async call<T>(operation: string, run: (client: Client) => Promise<T>, context?: Context): Promise<T> {
    const client = await this.client();
    return this.wrap(operation, async () => {
      try {
        return await run(client);
      } catch (err) {
        throw this.mapError(err, operation, context);
      }
    });
  }
}
