/**
 * A plain HTTP client for a running onnxscope (in-process harness or a spawned `serve`): JSON
 * GraphQL, multipart uploads, polling. Each request has a time limit, so a hang is reported as one
 * instead of stalling the suite.
 */
import http from 'node:http';

export interface GqlError {
  message: string;
  extensions?: { code?: string; [k: string]: unknown };
}

export interface GqlReply {
  status: number;
  body: { data?: Record<string, any> | null; errors?: GqlError[] } & Record<string, unknown>;
  /** The raw response text (what leak checks read). */
  text: string;
  ms: number;
}

/** A request that took longer than its limit. */
export class HangError extends Error {}

export interface Client {
  url: string;
  token?: string;
  gql(query: string, variables?: Record<string, unknown>, opts?: { timeoutMs?: number; token?: string | null }): Promise<GqlReply>;
  upload(query: string, variables: Record<string, unknown>, file: { bytes: Uint8Array; filename: string }, opts?: { timeoutMs?: number; token?: string | null }): Promise<GqlReply>;
  /** Any HTTP request; the body as text. */
  raw(path: string, init?: RequestInit & { timeoutMs?: number }): Promise<{ status: number; text: string; ms: number }>;
  waitFor(id: string, timeoutMs?: number): Promise<Record<string, any>>;
}

const DEFAULT_TIMEOUT_MS = 60_000;

export function makeClient(url: string, token?: string): Client {
  const authHeader = (t: string | null | undefined): Record<string, string> => {
    const use = t === undefined ? token : t;
    return use ? { authorization: `Bearer ${use}` } : {};
  };
  const raw: Client['raw'] = async (path, init = {}) => {
    const { timeoutMs = DEFAULT_TIMEOUT_MS, method = 'GET', headers = {}, body } = init;
    // A FormData body is serialized by the platform (boundary and all) before it is sent.
    let bytes: Uint8Array | undefined;
    const head: Record<string, string> = { ...(headers as Record<string, string>) };
    if (body instanceof FormData) {
      const encoded = new Response(body);
      bytes = new Uint8Array(await encoded.arrayBuffer());
      head['content-type'] = encoded.headers.get('content-type')!;
    } else if (typeof body === 'string') bytes = new TextEncoder().encode(body);
    else if (body !== undefined && body !== null) throw new Error('raw: body must be a string or FormData');
    if (bytes) head['content-length'] = String(bytes.length);
    const start = performance.now();
    // One connection per request (agent: false): a reused keep-alive socket that the server
    // closed while the suite was busy building a case would read as a crash.
    return new Promise((resolve, reject) => {
      const req = http.request(url + path, { method, headers: head, agent: false }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          clearTimeout(timer);
          resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString('utf8'), ms: performance.now() - start });
        });
        res.on('error', (err) => {
          clearTimeout(timer);
          reject(err);
        });
      });
      const timer = setTimeout(() => {
        req.destroy();
        reject(new HangError(`${path}: no answer in ${timeoutMs} ms`));
      }, timeoutMs);
      req.on('error', (err) => {
        clearTimeout(timer);
        reject(err);
      });
      req.end(bytes ? Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength) : undefined);
    });
  };
  const parse = (r: { status: number; text: string; ms: number }): GqlReply => {
    let body: GqlReply['body'];
    try {
      body = JSON.parse(r.text);
    } catch {
      body = {};
    }
    return { status: r.status, body, text: r.text, ms: r.ms };
  };
  const client: Client = {
    url,
    token,
    raw,
    async gql(query, variables = {}, opts = {}) {
      return parse(
        await raw('/graphql', {
          method: 'POST',
          headers: { 'content-type': 'application/json', ...authHeader(opts.token) },
          body: JSON.stringify({ query, variables }),
          timeoutMs: opts.timeoutMs,
        }),
      );
    },
    async upload(query, variables, file, opts = {}) {
      const form = new FormData();
      form.append('operations', JSON.stringify({ query, variables: { ...variables, file: null } }));
      form.append('map', JSON.stringify({ 0: ['variables.file'] }));
      form.append('0', new Blob([file.bytes]), file.filename);
      return parse(
        await raw('/graphql', { method: 'POST', headers: { 'apollo-require-preflight': 'true', ...authHeader(opts.token) }, body: form, timeoutMs: opts.timeoutMs }),
      );
    },
    async waitFor(id, timeoutMs = 120_000) {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const r = await client.gql(`query($id: ID!) { analysis(id: $id) { id status cached error { code message } } }`, { id });
        const a = r.body.data?.analysis;
        if (a && ['SUCCEEDED', 'FAILED', 'CANCELLED'].includes(a.status)) return a;
        if (Date.now() > deadline) throw new HangError(`analysis ${id} still ${a?.status ?? JSON.stringify(r.body.errors)} after ${timeoutMs} ms`);
        await new Promise((res) => setTimeout(res, 100));
      }
    },
  };
  return client;
}

export const errorCode = (r: GqlReply): string | undefined => r.body.errors?.[0]?.extensions?.code;

export const UPLOAD_MODEL = `mutation($file: Upload!, $name: String) { uploadModel(file: $file, name: $name) { id sha256 } }`;
export const UPLOAD_DATASET = `mutation($file: Upload!, $modelId: ID) { uploadDataset(file: $file, modelId: $modelId) { id } }`;
export const RUN_ANALYSIS = `mutation($input: RunAnalysisInput!) { runAnalysis(input: $input) { id status cached error { code message } } }`;
export const READ_RESULT = `query($id: ID!) { analysis(id: $id) { id status resultJson } }`;
