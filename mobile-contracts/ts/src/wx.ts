// A Connect transport over wx.request, for WeChat mini-programs, which have no fetch.
//
// Connect's own protocol code (createTransport from @connectrpc/connect/protocol-connect) does the
// framing, the JSON or binary codec, errors, timeouts and interceptors; this file only moves one request's
// bytes through wx.request and hands back the status, headers and body. Unary calls only: wx.request has
// no streaming body, and no public RPC streams.

import type { Interceptor, Transport } from "@connectrpc/connect";
import { Code, ConnectError } from "@connectrpc/connect";
import { createTransport } from "@connectrpc/connect/protocol-connect";
import type {
  UniversalClientFn,
  UniversalClientRequest,
  UniversalClientResponse,
} from "@connectrpc/connect/protocol";

/** What wx.request is given (the subset this transport uses). */
export interface WxRequestOptions {
  url: string;
  method: "POST" | "GET";
  header: Record<string, string>;
  data?: ArrayBuffer;
  /** "其他" keeps wx.request from parsing the body as JSON; the codec parses it. */
  dataType: string;
  responseType: "arraybuffer";
  timeout?: number;
  success(res: { statusCode: number; header: Record<string, string>; data: ArrayBuffer | string }): void;
  fail(err: { errMsg: string }): void;
}

/** The part of the mini-program's wx object the transport needs. */
export interface Wx {
  request(options: WxRequestOptions): { abort(): void };
}

/** Options of createWxTransport. */
export interface WxTransportOptions {
  /** The mini-program's wx object (a stand-in in tests). */
  wx: Wx;
  /** The server, e.g. "https://scrm.example.com". */
  baseUrl: string;
  /** Binary protobuf instead of JSON: smaller, but unreadable in the network panel. Default false. */
  useBinaryFormat?: boolean;
  interceptors?: Interceptor[];
  /** A deadline for calls that set none. */
  defaultTimeoutMs?: number;
}

/** createWxTransport returns a Connect transport that sends each call through wx.request. */
export function createWxTransport(options: WxTransportOptions): Transport {
  return createTransport({
    httpClient: wxHttpClient(options.wx),
    baseUrl: options.baseUrl,
    useBinaryFormat: options.useBinaryFormat ?? false,
    interceptors: options.interceptors ?? [],
    acceptCompression: [],
    sendCompression: null,
    compressMinBytes: 0,
    readMaxBytes: 0xffffffff,
    writeMaxBytes: 0xffffffff,
    defaultTimeoutMs: options.defaultTimeoutMs,
  });
}

function wxHttpClient(wx: Wx): UniversalClientFn {
  return async (req: UniversalClientRequest): Promise<UniversalClientResponse> => {
    const body = req.body ? await readAll(req.body) : undefined;
    const header: Record<string, string> = {};
    req.header.forEach((value, key) => {
      header[key] = value;
    });
    return new Promise<UniversalClientResponse>((resolve, reject) => {
      if (req.signal?.aborted) {
        reject(ConnectError.from(req.signal.reason, Code.Canceled));
        return;
      }
      const task = wx.request({
        url: req.url,
        method: req.method === "GET" ? "GET" : "POST",
        header,
        data: body ? toArrayBuffer(body) : undefined,
        dataType: "其他",
        responseType: "arraybuffer",
        success(res) {
          const data =
            typeof res.data === "string" ? new TextEncoder().encode(res.data) : new Uint8Array(res.data);
          resolve({
            status: res.statusCode,
            header: new Headers(res.header),
            body: once(data),
            trailer: new Headers(),
          });
        },
        fail(err) {
          // wx.request fails only when no HTTP answer came back: offline, DNS, TLS, timeout, abort.
          const aborted = req.signal?.aborted || /abort/i.test(err.errMsg);
          reject(new ConnectError(err.errMsg, aborted ? Code.Canceled : Code.Unavailable));
        },
      });
      req.signal?.addEventListener("abort", () => task.abort(), { once: true });
    });
  };
}

async function readAll(body: AsyncIterable<Uint8Array>): Promise<Uint8Array> {
  const chunks: Uint8Array[] = [];
  let n = 0;
  for await (const c of body) {
    chunks.push(c);
    n += c.length;
  }
  const out = new Uint8Array(n);
  let off = 0;
  for (const c of chunks) {
    out.set(c, off);
    off += c.length;
  }
  return out;
}

function toArrayBuffer(b: Uint8Array): ArrayBuffer {
  return b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength) as ArrayBuffer;
}

async function* once(b: Uint8Array): AsyncIterable<Uint8Array> {
  yield b;
}
