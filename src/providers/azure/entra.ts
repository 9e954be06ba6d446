import type { AccessToken, TokenCredential } from '@azure/identity';
import { lazyModule } from '../../state/lazy-module.ts';
import type { AttemptOutcome } from '../types.ts';

const azureIdentity = lazyModule<typeof import('@azure/identity')>('@azure/identity');

/** Azure OpenAI's scope for Entra ID tokens. */
export const COGNITIVE_SERVICES_SCOPE = 'https://cognitiveservices.azure.com/.default';
/** A token this close to expiry is not sent: the request waits for a new one. */
const EXPIRY_MARGIN_MS = 60_000;
/** A token this close to expiry is still sent while a new one is fetched in the background. */
const REFRESH_AHEAD_MS = 5 * 60_000;

export interface EntraSettings {
  readonly scope: string;
  readonly managedIdentityClientId?: string | undefined;
}

/**
 * The bearer header for Azure OpenAI from Microsoft Entra ID, through the Azure SDK's
 * DefaultAzureCredential (environment service principal, workload identity, managed
 * identity, Azure CLI, in that order). Requests get the header at once while the token is
 * fresh; it is renewed ahead of expiry in the background, one fetch at a time.
 */
export class EntraBearer {
  readonly #credential: TokenCredential;
  readonly #scope: string;
  #token: AccessToken | undefined;
  #headers: Record<string, string> = {};
  #fetching: Promise<Record<string, string>> | undefined;

  constructor(settings: EntraSettings, credential?: TokenCredential) {
    this.#scope = settings.scope;
    this.#credential =
      credential ??
      new (azureIdentity().DefaultAzureCredential)(
        settings.managedIdentityClientId === undefined ? {} : { managedIdentityClientId: settings.managedIdentityClientId },
      );
  }

  headers(): Record<string, string> | Promise<Record<string, string>> {
    const token = this.#token;
    const now = Date.now();
    if (token === undefined || token.expiresOnTimestamp - now <= EXPIRY_MARGIN_MS) return this.#fetch();
    const refreshAt = token.refreshAfterTimestamp ?? token.expiresOnTimestamp - REFRESH_AHEAD_MS;
    if (now >= refreshAt) this.#fetch().catch(() => undefined);
    return this.#headers;
  }

  #fetch(): Promise<Record<string, string>> {
    this.#fetching ??= this.#credential
      .getToken(this.#scope)
      .then((token) => {
        if (token === null) throw new Error('the credential returned no token');
        this.#token = token;
        this.#headers = { authorization: `Bearer ${token.token}` };
        return this.#headers;
      })
      .finally(() => (this.#fetching = undefined));
    return this.#fetching;
  }
}

/** The attempt's outcome when no token could be had: an authentication failure, named, that may fall back. */
export function entraFailure(provider: string, error: unknown): AttemptOutcome {
  const reason = error instanceof Error ? error.message.split('\n')[0] : String(error);
  return {
    kind: 'upstream_error',
    status: 401,
    errorClass: 'auth',
    body: {
      error: {
        message: `Could not get a Microsoft Entra ID token for provider '${provider}': ${reason}`,
        type: 'authentication_error',
        param: null,
        code: 'entra_token_unavailable',
      },
    },
  };
}
