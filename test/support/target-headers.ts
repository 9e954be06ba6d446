/** `<provider>/<upstream model>` from a routed answer's x-lightport-provider and x-lightport-model; undefined when it names none. */
export function targetOf(headers: Headers): string | undefined {
  const provider = headers.get('x-lightport-provider');
  const model = headers.get('x-lightport-model');
  return provider === null || model === null ? undefined : `${provider}/${model}`;
}
