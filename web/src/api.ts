/**
 * The page's only way to the server: the public GraphQL API (POST /graphql, multipart uploads,
 * graphql-ws subscriptions). The token, when the server asks for one, lives in sessionStorage:
 * it stays for the tab and goes with it.
 */
import { createClient, type Client } from 'graphql-ws';

const TOKEN_KEY = 'onnxscope.token';

export const token = {
  get: (): string | null => sessionStorage.getItem(TOKEN_KEY),
  set(value: string) {
    sessionStorage.setItem(TOKEN_KEY, value);
    resetSubscriptions();
  },
  clear() {
    sessionStorage.removeItem(TOKEN_KEY);
    resetSubscriptions();
  },
};

/** A GraphQL or HTTP error with the server's code (UNAUTHENTICATED, FORBIDDEN, BAD_MODEL, ...). */
export class ApiError extends Error {
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

const authHeaders = (): Record<string, string> => {
  const t = token.get();
  return t ? { authorization: `Bearer ${t}` } : {};
};

type Body = { data?: unknown; errors?: Array<{ message: string; extensions?: { code?: string } }> };

async function answer<T>(res: Response): Promise<T> {
  let body: Body;
  try {
    body = (await res.json()) as Body;
  } catch {
    throw new ApiError(res.status === 413 ? 'TOO_LARGE' : 'INTERNAL', `the server answered ${res.status} ${res.statusText}`);
  }
  const first = body.errors?.[0];
  if (first) throw new ApiError(first.extensions?.code ?? 'INTERNAL', first.message);
  if (!res.ok) throw new ApiError('INTERNAL', `the server answered ${res.status}`);
  return body.data as T;
}

export async function gql<T>(query: string, variables: Record<string, unknown> = {}): Promise<T> {
  const res = await fetch('/graphql', {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...authHeaders() },
    body: JSON.stringify({ query, variables }),
  });
  return answer<T>(res);
}

/** A GraphQL multipart request (graphql-multipart-request-spec) with one file as variables.file. */
export async function upload<T>(query: string, variables: Record<string, unknown>, file: File): Promise<T> {
  const form = new FormData();
  form.append('operations', JSON.stringify({ query, variables: { ...variables, file: null } }));
  form.append('map', JSON.stringify({ 0: ['variables.file'] }));
  form.append('0', file, file.name);
  // Apollo's CSRF prevention refuses multipart requests without a preflight-forcing header.
  const res = await fetch('/graphql', { method: 'POST', headers: { 'apollo-require-preflight': 'true', ...authHeaders() }, body: form });
  return answer<T>(res);
}

let wsClient: Client | null = null;

function resetSubscriptions() {
  void wsClient?.dispose();
  wsClient = null;
}

function ws(): Client {
  wsClient ??= createClient({
    url: `${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}/graphql`,
    connectionParams: () => authHeaders(),
    lazy: true,
    retryAttempts: 3,
  });
  return wsClient;
}

/** Subscribes to one operation; returns the unsubscribe function. */
export function subscribe<T>(query: string, variables: Record<string, unknown>, onData: (data: T) => void, onError: (e: ApiError) => void): () => void {
  return ws().subscribe<T>(
    { query, variables },
    {
      next: (msg) => {
        const first = msg.errors?.[0];
        if (first) onError(new ApiError(String(first.extensions?.code ?? 'INTERNAL'), first.message));
        else if (msg.data) onData(msg.data as T);
      },
      error: (e) => onError(new ApiError('INTERNAL', e instanceof Error ? e.message : 'subscription failed')),
      complete: () => undefined,
    },
  );
}

export const errorText = (e: unknown) => (e instanceof ApiError ? `${e.code}: ${e.message}` : e instanceof Error ? e.message : String(e));
