// The tracking client of H5 pages: a persistent visitor id, and events posted to the beacon endpoint (/t)
// as protojson. It uses the generated messages' JSON types only (no protobuf runtime), so a page's bundle
// stays small; the share pages' script (src/page) is built on it.

import type { EventKindJson, TrackEventJson, TrackRequestJson } from "./gen/salesapp/v1/tracking_pb";
import type { ForwardShareRequestJson, ForwardShareResponseJson } from "./gen/salesapp/v1/share_pb";
import type { ShareChannelJson } from "./gen/salesapp/v1/material_pb";

/** An event kind by its name in the API's JSON: "EVENT_KIND_CARD_VIEW", "EVENT_KIND_DWELL", … */
export type TrackKind = Exclude<EventKindJson, "EVENT_KIND_UNSPECIFIED">;

/** The fields of an event the caller may add (the rest are the tracker's). */
export type TrackExtra = Pick<TrackEventJson, "dwellMs" | "viewId" | "value" | "phone">;

/** The name under which the visitor id is kept: localStorage and a cookie (forms post the cookie). */
export const visitorKey = "sa_vid";

const idPattern = /^[A-Za-z0-9_-]{8,64}$/;

/** newId returns a random UUID (crypto.randomUUID where there is one). */
export function newId(): string {
  const c = globalThis.crypto;
  if (c && c.randomUUID) return c.randomUUID();
  const a = new Uint8Array(16);
  if (c && c.getRandomValues) c.getRandomValues(a);
  else for (let i = 0; i < 16; i++) a[i] = Math.random() * 256;
  a[6] = (a[6] & 15) | 64;
  a[8] = (a[8] & 63) | 128;
  let h = "";
  for (let i = 0; i < 16; i++) {
    h += (a[i] + 256).toString(16).slice(1);
    if (i === 3 || i === 5 || i === 7 || i === 9) h += "-";
  }
  return h;
}

function cookieVisitor(): string {
  const m = document.cookie.match(new RegExp("(?:^|;\\s*)" + visitorKey + "=([^;]+)"));
  return m && idPattern.test(m[1]) ? m[1] : "";
}

/**
 * visitorId returns this browser's visitor id: the one in localStorage, else in the cookie, else a new one;
 * it is kept in both, so forms and beacons speak for the same visitor.
 */
export function visitorId(): string {
  let id = "";
  try {
    id = localStorage.getItem(visitorKey) || "";
  } catch {
    // storage off: the cookie remains
  }
  if (!idPattern.test(id)) id = cookieVisitor();
  if (!idPattern.test(id)) id = newId().replace(/-/g, "");
  try {
    localStorage.setItem(visitorKey, id);
  } catch {
    // ignore
  }
  if (cookieVisitor() !== id) {
    document.cookie = `${visitorKey}=${id}; path=/; max-age=63072000; samesite=lax` +
      (location.protocol === "https:" ? "; secure" : "");
  }
  return id;
}

/** Options of a Tracker. */
export interface TrackerOptions {
  /** The share token the page was opened with. */
  token: string;
  /** The beacon endpoint, "/t" by default. */
  endpoint?: string;
  /** The visitor id; visitorId() by default. */
  visitor?: string;
  /** The server's origin for ForwardShare ("" for the page's own). */
  baseUrl?: string;
}

/** Tracker sends a page's events for one share token and one visitor. */
export class Tracker {
  readonly token: string;
  readonly visitor: string;
  private readonly endpoint: string;
  private readonly baseUrl: string;

  constructor(o: TrackerOptions) {
    this.token = o.token;
    this.endpoint = o.endpoint || "/t";
    this.visitor = o.visitor || visitorId();
    this.baseUrl = o.baseUrl || "";
  }

  /** event makes an event of this page, happening now, with a fresh id. */
  event(kind: TrackKind, extra?: TrackExtra): TrackEventJson {
    return {
      eventId: newId(),
      kind,
      shareToken: this.token,
      visitorId: this.visitor,
      occurredAt: new Date().toISOString(),
      ...extra,
    };
  }

  /**
   * send posts events. closing prefers sendBeacon, which survives the page going away. It answers whether
   * the events were accepted (a beacon: queued by the browser). A lost beacon loses only itself: it never
   * throws or rejects.
   */
  send(events: TrackEventJson[], closing = false): Promise<boolean> {
    const body: TrackRequestJson = { events };
    const payload = JSON.stringify(body);
    if (closing && typeof navigator !== "undefined" && navigator.sendBeacon) {
      try {
        if (navigator.sendBeacon(this.endpoint, new Blob([payload], { type: "application/json" }))) return Promise.resolve(true);
      } catch {
        // fall through
      }
    }
    try {
      if (typeof fetch === "function") {
        return fetch(this.endpoint, {
          method: "POST", body: payload, keepalive: true, credentials: "same-origin",
          headers: { "Content-Type": "application/json" },
        }).then((r) => r.ok, () => false);
      }
      const x = new XMLHttpRequest();
      x.open("POST", this.endpoint, true);
      x.setRequestHeader("Content-Type", "application/json");
      x.send(payload);
      return Promise.resolve(true);
    } catch {
      return Promise.resolve(false);
    }
  }

  /** track sends one event now and returns it. */
  track(kind: TrackKind, extra?: TrackExtra, closing = false): TrackEventJson {
    const e = this.event(kind, extra);
    void this.send([e], closing);
    return e;
  }

  /**
   * forwardLink asks PublicService.ForwardShare (Connect, JSON) for this visitor's child link on a channel;
   * it answers "" when there is none.
   */
  async forwardLink(channel: ShareChannelJson): Promise<string> {
    const req: ForwardShareRequestJson = { token: this.token, channel, forwarder: this.visitor };
    try {
      const r = await fetch(this.baseUrl + "/salesapp.v1.PublicService/ForwardShare", {
        method: "POST", credentials: "same-origin",
        headers: { "Content-Type": "application/json" }, body: JSON.stringify(req),
      });
      if (!r.ok) return "";
      const res = (await r.json()) as ForwardShareResponseJson;
      return res.url || "";
    } catch {
      return "";
    }
  }
}
