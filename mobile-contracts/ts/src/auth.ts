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

/**
 * customerSession returns an interceptor that adds the mini-program customer's session (from
 * `PublicService.LoginMiniProgram`, renewed with `RefreshCustomerSession`) to each public call, in the
 * `X-Customer-Session` header: with it, tracking events, `LeavePhoneNumber` and `ForwardShare` need no
 * visitor id, and `OpenCard` opens a salesperson's card without a share link. session is read on every call.
 */
export function customerSession(session: () => string | undefined): Interceptor {
  return (next) => async (req) => {
    const s = session();
    if (s) {
      req.header.set("X-Customer-Session", s);
    }
    return next(req);
  };
}
