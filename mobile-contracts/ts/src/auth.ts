// Staff calls carry the access token from AuthService as a bearer header.

import type { Interceptor } from "@connectrpc/connect";

/**
 * bearer returns an interceptor that adds "Authorization: Bearer <token>" to each call; token is read on
 * every call so a refreshed token is picked up without rebuilding the client.
 */
export function bearer(token: () => string | undefined): Interceptor {
  return (next) => async (req) => {
    const t = token();
    if (t) {
      req.header.set("Authorization", `Bearer ${t}`);
    }
    return next(req);
  };
}
