// Run by mobile-contracts/ts_test.go against a live salesd: the SDK's transports call real RPCs.
// The test runs in Node.
/// <reference types="node" />
// Inputs come from the environment; the outcome is one line "RESULT <json>" on stdout (exit 1 on failure).

import { Code, ConnectError, createClient } from "@connectrpc/connect";
import { toJson } from "@bufbuild/protobuf";
import {
  CardService,
  EventKind,
  OpenShareResponseSchema,
  PublicService,
  TrackingService,
  Tracker,
  bearer,
  createWebTransport,
  createWxTransport,
} from "../src/index";
import type { Interceptor } from "@connectrpc/connect";
import type { Wx, WxRequestOptions } from "../src/index";

const env = (k: string): string => {
  const v = process.env[k];
  if (!v) throw new Error(`${k} is not set`);
  return v;
};
const baseUrl = env("SALESD_URL");
const shareToken = env("SHARE_TOKEN");
const staffToken = env("STAFF_TOKEN");
const visitorId = env("VISITOR_ID");

// A stand-in for the mini-program's wx object: wx.request on Node's fetch, recording what it was asked.
const calls: WxRequestOptions[] = [];
const wx: Wx = {
  request(opts) {
    calls.push(opts);
    const ac = new AbortController();
    fetch(opts.url, { method: opts.method, headers: opts.header, body: opts.data, signal: ac.signal })
      .then(async (res) => {
        const header: Record<string, string> = {};
        res.headers.forEach((v, k) => (header[k] = v));
        opts.success({ statusCode: res.status, header, data: await res.arrayBuffer() });
      })
      .catch((e: Error) => opts.fail({ errMsg: `request:fail ${e.message}` }));
    return { abort: () => ac.abort() };
  },
};

// Every RPC made on a wx transport, counted before the transport runs: each must be one wx.request.
let wxRpcs = 0;
const countRpc: Interceptor = (next) => (req) => {
  wxRpcs++;
  return next(req);
};

async function codeOf(p: Promise<unknown>): Promise<string> {
  try {
    await p;
    return "OK";
  } catch (e) {
    return Code[ConnectError.from(e).code];
  }
}

async function main() {
  const wxTransport = createWxTransport({ wx, baseUrl, interceptors: [countRpc] });
  const pub = createClient(PublicService, wxTransport);
  const opened = await pub.openShare({ token: shareToken });
  const openedJson = JSON.stringify(toJson(OpenShareResponseSchema, opened));

  const track = createClient(TrackingService, wxTransport);
  const eventId = crypto.randomUUID();
  await track.track({ events: [{ eventId, kind: EventKind.CARD_VIEW, shareToken, visitorId }] });
  // The same event again is stored once.
  await track.track({ events: [{ eventId, kind: EventKind.CARD_VIEW, shareToken, visitorId }] });

  const notFound = await codeOf(pub.openShare({ token: "no-such-token" }));
  const invalid = await codeOf(track.track({ events: [{ eventId: crypto.randomUUID(), kind: EventKind.CARD_VIEW, shareToken, visitorId: "x" }] }));
  const unauthenticated = await codeOf(createClient(CardService, wxTransport).getMyCard({}));
  const staff = createClient(CardService, createWxTransport({ wx, baseUrl, interceptors: [countRpc, bearer(() => staffToken)] }));
  const myCard = await staff.getMyCard({});

  // connect-web over Node's fetch; OpenShare is side-effect free, so it goes as a GET.
  const web = createClient(PublicService, createWebTransport({ baseUrl }));
  const viaWeb = await web.openShare({ token: shareToken });

  // The pages' tracking client: an event posted to /t as protojson, and the visitor's child link.
  const tracker = new Tracker({ token: shareToken, visitor: visitorId, endpoint: baseUrl + "/t", baseUrl });
  const tracked = tracker.event("EVENT_KIND_CARD_VIEW");
  const trackerAccepted = await tracker.send([tracked]);
  const forwardUrl = await tracker.forwardLink("SHARE_CHANNEL_CHAT");
  const refused = await new Tracker({ token: shareToken, visitor: visitorId, endpoint: baseUrl + "/no-such-endpoint" }).send([tracked]);

  const out = {
    trackerEventId: tracked.eventId,
    trackerAccepted,
    forwardUrl,
    refused,
    cardName: opened.card?.displayName,
    openedJson,
    eventId,
    notFound,
    invalid,
    unauthenticated,
    myCardName: myCard.card?.displayName,
    webCardName: viaWeb.card?.displayName,
    wxCalls: calls.length,
    wxRpcs,
    wxContentTypes: [...new Set(calls.map((c) => c.header["content-type"]))],
  };
  console.log("RESULT " + JSON.stringify(out));
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
