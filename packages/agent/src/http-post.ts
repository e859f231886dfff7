/**
 * One POST with a small JSON answer through undici's `dispatch()` (undici docs, Dispatcher.md
 * "dispatch" and its handler: onRequestStart, onResponseStart, onResponseData, onResponseEnd,
 * onResponseError). `request()` wraps every answer in a Readable stream, an AsyncResource and
 * two promises; for a 60-byte time answer that is most of the request's CPU (measured on Node 20
 * with the agent's V8 settings: ~300 µs a request through request(), ~200 µs through dispatch();
 * bench/README.md, "Agent CPU"). Same connection, same parser, same timeouts: only the answer
 * is collected into one string instead of a stream.
 */
import type { Dispatcher } from 'undici';

export interface PostOptions {
  path: string;
  headers: Record<string, string>;
  body: string;
  /** undici's headersTimeout and bodyTimeout, ms. */
  timeoutMs: number;
  /** Called once, when the final (non-1xx) status line and headers have arrived. */
  onHeaders?: () => void;
}

export interface PostAnswer {
  statusCode: number;
  headers: Record<string, string | string[] | undefined>;
  text: string;
}

/** The connection failed after the status line arrived (the body was cut off, or timed out). */
export class AnswerError extends Error {
  readonly statusCode: number;
  constructor(statusCode: number, cause: Error) {
    super(cause.message, { cause });
    this.statusCode = statusCode;
  }
}

/** Answers above this are cut off (an error page, never a time answer or an ingest result). */
const MAX_ANSWER_BYTES = 16 * 1024 * 1024;

export function postJson(dispatcher: Dispatcher, o: PostOptions): Promise<PostAnswer> {
  return new Promise<PostAnswer>((resolve, reject) => {
    let statusCode = 0;
    let headers: PostAnswer['headers'] = {};
    const chunks: Buffer[] = [];
    let bytes = 0;
    let settled = false;
    const fail = (err: Error) => {
      if (settled) return;
      settled = true;
      reject(err);
    };
    const handler: Dispatcher.DispatchHandler = {
      // Present so that undici takes this for a handler of its current API (UnwrapHandler.unwrap).
      onRequestStart() {},
      onResponseStart(_controller, status, h) {
        // 1xx informational answers come first and are not the answer (RFC 9110 §15.2).
        if (status < 200) return;
        statusCode = status;
        headers = h as PostAnswer['headers'];
        o.onHeaders?.();
      },
      onResponseData(controller, chunk) {
        bytes += chunk.length;
        if (bytes > MAX_ANSWER_BYTES) {
          controller.abort(new Error(`answer larger than ${MAX_ANSWER_BYTES} bytes`));
          return;
        }
        chunks.push(chunk);
      },
      onResponseEnd() {
        if (settled) return;
        settled = true;
        resolve({ statusCode, headers, text: chunks.length === 1 ? chunks[0]!.toString('utf8') : Buffer.concat(chunks).toString('utf8') });
      },
      onResponseError(_controller, err) {
        // After the headers: the answer broke off while its body was read.
        fail(statusCode ? new AnswerError(statusCode, err) : err);
      },
    };
    try {
      dispatcher.dispatch({ method: 'POST', path: o.path, headers: o.headers, body: o.body, headersTimeout: o.timeoutMs, bodyTimeout: o.timeoutMs }, handler);
    } catch (err) {
      fail(err as Error);
    }
  });
}
