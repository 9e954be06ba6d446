import type OpenAI from 'openai';

/** The SDK error a request failed with, or undefined when it succeeded. */
export function apiErrorOf(promise: Promise<unknown>): Promise<InstanceType<typeof OpenAI.APIError> | undefined> {
  return promise.then(
    () => undefined,
    (error: unknown) => error as InstanceType<typeof OpenAI.APIError>,
  );
}
