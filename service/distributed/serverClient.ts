/**
 * A worker's HTTP client of the server's /worker/v1 API (service/http/workerApi.ts), with the
 * worker token. Requests that meet a network error or a 5xx are retried with backoff for about
 * half a minute (a server restarting); 401/403 are final (a bad token refuses the worker).
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { AppError, type ErrorCode } from '../../common/errors.js';
import type { PostedResult } from '../http/workerApi.js';
import type { DatasetRecord } from '../../storage/records.js';

const RETRY_DELAYS_MS = [200, 500, 1000, 2000, 4000, 8000, 15000];

export class ServerClient {
  private readonly base: string;

  constructor(serverUrl: string, private readonly token: string) {
    // The server URL as users know it may end in /graphql.
    this.base = serverUrl.replace(/\/+$/, '').replace(/\/graphql$/, '');
  }

  /** Checks the token at start-up: UNAUTHENTICATED or FORBIDDEN when the server refuses it. */
  async hello(): Promise<void> {
    await this.request('GET', '/worker/v1/hello');
  }

  async blob(sha256: string): Promise<Uint8Array> {
    return new Uint8Array(await (await this.request('GET', `/worker/v1/blobs/${sha256}`)).arrayBuffer());
  }

  async modelSha(ref: string): Promise<string> {
    return ((await (await this.request('GET', `/worker/v1/models/${encodeURIComponent(ref)}`)).json()) as { sha256: string }).sha256;
  }

  /** How to decode a dataset: its file's hash and its preprocessing (undefined when the server has no such dataset). */
  async dataset(sha256: string): Promise<Pick<DatasetRecord, 'fileSha256' | 'preprocessing'> | undefined> {
    const res = await this.request('GET', `/worker/v1/datasets/${sha256}`, undefined, [404]);
    return res.status === 404 ? undefined : ((await res.json()) as Pick<DatasetRecord, 'fileSha256' | 'preprocessing'>);
  }

  /** This run's attempt number, or null when the analysis already ended (cancelled meanwhile). */
  async start(analysisId: string): Promise<number | null> {
    const res = await this.request('POST', `/worker/v1/jobs/${encodeURIComponent(analysisId)}/start`, {}, [409]);
    if (res.status === 409) return null;
    return ((await res.json()) as { attempt: number }).attempt;
  }

  async result(analysisId: string, body: PostedResult): Promise<boolean> {
    const res = await this.request('POST', `/worker/v1/jobs/${encodeURIComponent(analysisId)}/result`, body);
    return ((await res.json()) as { recorded: boolean }).recorded;
  }

  async failure(analysisId: string, attempt: number, code: string, message: string): Promise<boolean> {
    const res = await this.request('POST', `/worker/v1/jobs/${encodeURIComponent(analysisId)}/failure`, { attempt, code, message });
    return ((await res.json()) as { recorded: boolean }).recorded;
  }

  private async request(method: string, path: string, body?: unknown, accept: number[] = []): Promise<Response> {
    const headers: Record<string, string> = { authorization: `Bearer ${this.token}` };
    if (body !== undefined) headers['content-type'] = 'application/json';
    for (let attempt = 0; ; attempt++) {
      let res: Response | undefined;
      let failure: string;
      try {
        res = await fetch(this.base + path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
        if (res.ok || accept.includes(res.status)) return res;
        const text = await res.text();
        failure = `${method} ${path}: HTTP ${res.status} ${text.slice(0, 300)}`;
        if (res.status === 401) throw new AppError('UNAUTHENTICATED', `the server refused the worker token (${failure})`);
        if (res.status === 403) throw new AppError('FORBIDDEN', `the worker token lacks the worker scope (${failure})`);
        if (res.status < 500) throw new AppError(codeOf(text) ?? 'INTERNAL', failure);
      } catch (err) {
        if (err instanceof AppError) throw err;
        failure = `${method} ${path}: ${(err as Error).message}`;
      }
      const delay = RETRY_DELAYS_MS[attempt];
      if (delay === undefined) throw new AppError('INTERNAL', `the server did not answer: ${failure}`);
      await sleep(delay);
    }
  }
}

function codeOf(text: string): ErrorCode | undefined {
  try {
    return (JSON.parse(text) as { error?: { code?: ErrorCode } }).error?.code;
  } catch {
    return undefined;
  }
}
