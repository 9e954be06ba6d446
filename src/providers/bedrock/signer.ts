import { Sha256 } from '@aws-crypto/sha256-js';
import { SignatureV4 } from '@smithy/signature-v4';
import type { AwsCredentialIdentity, AwsCredentialIdentityProvider } from '@smithy/types';

export interface StaticKeys {
  readonly accessKeyId: string;
  readonly secretAccessKey: string;
  readonly sessionToken?: string | undefined;
}

/** Keys from config, or the standard chain (env, shared files, SSO, container and instance roles), loaded on first use. */
export function credentialSource(keys: StaticKeys | undefined): AwsCredentialIdentityProvider {
  if (keys) return () => Promise.resolve(keys);
  let chain: AwsCredentialIdentityProvider | undefined;
  let current: AwsCredentialIdentity | undefined;
  return async () => {
    if (current && (current.expiration === undefined || current.expiration.getTime() - Date.now() > 5 * 60_000)) return current;
    chain ??= (await import('@aws-sdk/credential-providers')).fromNodeProviderChain();
    current = await chain();
    return current;
  };
}

/** SigV4 signing of one request: returns the headers to send (authorization, x-amz-date, token). */
export function createSigner(region: string, service: string, credentials: AwsCredentialIdentityProvider) {
  const signer = new SignatureV4({ service, region, credentials, sha256: Sha256 });
  return async (url: URL, path: string, headers: Record<string, string>, body: string): Promise<Record<string, string>> => {
    const query = path.indexOf('?');
    const signed = await signer.sign({
      method: 'POST',
      protocol: url.protocol,
      hostname: url.hostname,
      ...(url.port ? { port: Number(url.port) } : {}),
      path: query === -1 ? path : path.slice(0, query),
      query: {},
      headers: { ...headers, host: url.host },
      body,
    });
    return signed.headers;
  };
}
