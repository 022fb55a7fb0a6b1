/*
 * The share pages' script, bundled by esbuild (make generate) into backend/web/assets/page.js, which salesd
 * embeds and serves at /s/assets/{version}/page.js. Pages are complete without it: it adds tracking and the
 * copy buttons. The contract with the pages (backend/web's templates) is this:
 *
 * <body> data attributes
 *   data-token         the page's share token
 *   data-view-kind     "card_view" or "material_view": the view sent on load
 *   data-beacon        where events go ("/t"): POST {"events":[TrackEvent...]} as protojson
 *   data-heartbeat-ms  dwell heartbeat interval while the page is visible (tests shorten it)
 *   data-wx            in WeChat's browser with an official account only: wx.config's {appId, timestamp,
 *                      nonceStr, signature} for the requested URL; the page then has <script id="wx-sdk">
 *   data-share-desc, data-share-image  a forward's description and image (title: document.title)
 *   With data-wx, once window.wx is there: wx.config, and on wx.ready PublicService.ForwardShare (Connect
 *   JSON, forwarder = visitor id) gives a child link per channel: CHAT for chats, MOMENTS for Moments.
 * elements
 *   data-track="call_click|wechat_click|brochure_page" [data-value="N"]  an event on tap
 *   data-copy="ID"            a button (hidden without the script) copying the text of element ID
 *   <video data-video-progress>  video_progress at 25, 50, 75 and 100 percent
 *   data-page="N"             a brochure page image: brochure_page N once half of it was seen
 * visitor id: the SDK's visitorId (localStorage "sa_vid", else the sa_vid cookie).
 */

import { Tracker } from "../tracking";
import type { TrackKind } from "../tracking";

/** The part of WeChat's JS-SDK the page uses. */
interface WxShareData {
  title: string;
  desc?: string;
  link: string;
  imgUrl: string;
}
interface WxSdk {
  config(c: { appId: string; timestamp: number; nonceStr: string; signature: string; jsApiList: string[] }): void;
  ready(f: () => void): void;
  error?(f: (e: unknown) => void): void;
  updateAppMessageShareData(d: WxShareData): void;
  updateTimelineShareData(d: WxShareData): void;
}
interface WxConfig {
  appId: string;
  timestamp: number;
  nonceStr: string;
  signature: string;
}

// The page's names for the events it may send (data-view-kind, data-track).
const kinds: Record<string, TrackKind> = {
  card_view: "EVENT_KIND_CARD_VIEW", material_view: "EVENT_KIND_MATERIAL_VIEW", call_click: "EVENT_KIND_CALL_CLICK",
  wechat_click: "EVENT_KIND_WECHAT_CLICK", brochure_page: "EVENT_KIND_BROCHURE_PAGE",
};

const maxHeartbeatMs = 60000;

function start(): void {
  const d = document.body && document.body.dataset;
  if (!d || !d.token || !window.JSON) return;
  const t = new Tracker({ token: d.token, endpoint: d.beacon || "/t" });
  const beat = Math.max(500, Math.min(maxHeartbeatMs, parseInt(d.heartbeatMs || "", 10) || 15000));

  // The view, then dwell heartbeats while visible: hidden time is never counted.
  const view = t.track(d.viewKind === "material_view" ? "EVENT_KIND_MATERIAL_VIEW" : "EVENT_KIND_CARD_VIEW");
  let since = document.hidden ? 0 : Date.now();
  let timer = 0;

  const dwell = (closing: boolean) => {
    if (!since) return;
    const now = Date.now();
    const ms = Math.min(now - since, maxHeartbeatMs);
    since = document.hidden ? 0 : now;
    if (ms >= 1) t.track("EVENT_KIND_DWELL", { viewId: view.eventId, dwellMs: ms }, closing);
  };
  const schedule = () => {
    clearInterval(timer);
    timer = 0;
    if (!document.hidden) timer = window.setInterval(() => dwell(false), beat);
  };
  document.addEventListener("visibilitychange", () => {
    if (document.hidden) {
      dwell(true);
      since = 0;
    } else {
      since = Date.now();
    }
    schedule();
  });
  window.addEventListener("pagehide", () => {
    dwell(true);
    since = 0;
    clearInterval(timer);
  });
  window.addEventListener("pageshow", (e) => {
    if (e.persisted && !document.hidden) {
      since = Date.now();
      schedule();
    }
  });
  schedule();

  // Taps: calls and tel: links leave the page, so they go by sendBeacon.
  document.addEventListener("click", (e) => {
    const target = e.target as Element | null;
    const el = target && target.closest ? target.closest("[data-track]") : null;
    const kind = el && kinds[el.getAttribute("data-track") || ""];
    if (el && kind) {
      const v = parseInt(el.getAttribute("data-value") || "", 10);
      t.track(kind, v > 0 ? { value: v } : undefined, true);
    }
    const btn = target && target.closest ? target.closest<HTMLElement>("[data-copy]") : null;
    if (btn) copy(btn);
  });
  document.querySelectorAll<HTMLElement>("[data-copy]").forEach((b) => (b.hidden = false));

  // Brochure pages, each once, when half of it was on screen.
  const pages = document.querySelectorAll("[data-page]");
  if (pages.length && window.IntersectionObserver) {
    const seen: Record<number, boolean> = {};
    const io = new IntersectionObserver((entries) => {
      for (const en of entries) {
        const n = parseInt(en.target.getAttribute("data-page") || "", 10);
        if (en.isIntersecting && n > 0 && !seen[n]) {
          seen[n] = true;
          t.track("EVENT_KIND_BROCHURE_PAGE", { value: n });
        }
      }
    }, { threshold: 0.5 });
    pages.forEach((p) => io.observe(p));
  }

  // Video progress, each quarter once.
  document.querySelectorAll<HTMLVideoElement>("video[data-video-progress]").forEach((v) => watch(t, v));

  // WeChat forwards carry the visitor's child link, so the forward tree grows from the page.
  let wxc: WxConfig | null = null;
  try {
    wxc = d.wx ? (JSON.parse(d.wx) as WxConfig) : null;
  } catch {
    // no forwards through the JS-SDK
  }
  if (wxc && typeof fetch === "function") {
    const c = wxc;
    const sdk = document.getElementById("wx-sdk");
    const w = () => wxShare(t, c, d.shareDesc || "", d.shareImage || "");
    if (wxOf(window)) w();
    else if (sdk) sdk.addEventListener("load", w);
  }
}

function wxOf(w: Window): WxSdk | null {
  const wx = (w as unknown as { wx?: Partial<WxSdk> }).wx;
  return wx && wx.config && wx.ready ? (wx as WxSdk) : null;
}

function wxShare(t: Tracker, c: WxConfig, desc: string, imgUrl: string): void {
  const wx = wxOf(window);
  if (!wx) return;
  try {
    wx.config({ appId: c.appId, timestamp: c.timestamp, nonceStr: c.nonceStr, signature: c.signature,
      jsApiList: ["updateAppMessageShareData", "updateTimelineShareData"] });
    if (wx.error) wx.error(() => {});
    wx.ready(() => {
      // Each way on (a chat, Moments) has a child link of its own.
      void t.forwardLink("SHARE_CHANNEL_CHAT").then((link) => {
        if (link) wx.updateAppMessageShareData({ title: document.title, desc, link, imgUrl });
      });
      void t.forwardLink("SHARE_CHANNEL_MOMENTS").then((link) => {
        if (link) wx.updateTimelineShareData({ title: document.title, link, imgUrl });
      });
    });
  } catch {
    // the page works without the JS-SDK
  }
}

function watch(t: Tracker, v: HTMLVideoElement): void {
  let sent = 0;
  const report = (pct: number) => {
    const q = pct >= 100 ? 100 : Math.floor(pct / 25) * 25;
    if (q > sent) {
      sent = q;
      t.track("EVENT_KIND_VIDEO_PROGRESS", { value: q });
    }
  };
  v.addEventListener("timeupdate", () => {
    if (v.duration > 0 && isFinite(v.duration)) report((v.currentTime / v.duration) * 100);
  });
  v.addEventListener("ended", () => report(100));
}

function copy(btn: HTMLElement): void {
  const src = document.getElementById(btn.getAttribute("data-copy") || "");
  if (!src) return;
  const text = src.textContent || "";
  const label = btn.textContent;
  const done = () => {
    btn.textContent = "已复制";
    setTimeout(() => (btn.textContent = label), 1500);
  };
  if (navigator.clipboard && window.isSecureContext) {
    navigator.clipboard.writeText(text).then(done, () => {
      if (select(src)) done();
    });
  } else if (select(src)) {
    done();
  }
}

function select(el: HTMLElement): boolean {
  try {
    const r = document.createRange();
    r.selectNodeContents(el);
    const s = window.getSelection();
    if (!s) return false;
    s.removeAllRanges();
    s.addRange(r);
    return document.execCommand("copy");
  } catch {
    return false;
  }
}

start();
