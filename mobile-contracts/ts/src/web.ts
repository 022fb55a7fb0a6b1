// Connect over fetch, for H5 pages and anything else with fetch (Node 18+ included).

import type { Interceptor, Transport } from "@connectrpc/connect";
import { createConnectTransport } from "@connectrpc/connect-web";

/** Options of createWebTransport. */
export interface WebTransportOptions {
  /** The server, e.g. "https://scrm.example.com" (the page's own origin when empty). */
  baseUrl: string;
  interceptors?: Interceptor[];
  /**
   * Use GET for procedures marked side-effect free (PublicService.OpenShare), so browsers and CDNs can cache
   * them. Default true.
   */
  useHttpGet?: boolean;
}

/** createWebTransport returns connect-web's transport with the settings the public pages use. */
export function createWebTransport(options: WebTransportOptions): Transport {
  return createConnectTransport({
    baseUrl: options.baseUrl,
    interceptors: options.interceptors,
    useHttpGet: options.useHttpGet ?? true,
  });
}
