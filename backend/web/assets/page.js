/*
 * The share pages' script (served by salesd at /s/assets/{version}/page.js). Pages are complete without
 * it: it adds tracking and the copy buttons. A bundle built from the TypeScript SDK will replace this file;
 * the contract it must keep is this:
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
 * visitor id: localStorage "sa_vid", else the sa_vid cookie (the server sets one for its forms), kept in
 * both so forms and beacons speak for the same visitor.
 */
(function () {
  'use strict';
  var body = document.body, d = body && body.dataset;
  if (!d || !d.token || !window.JSON) return;
  var KINDS = {
    card_view: 'EVENT_KIND_CARD_VIEW', material_view: 'EVENT_KIND_MATERIAL_VIEW', dwell: 'EVENT_KIND_DWELL',
    call_click: 'EVENT_KIND_CALL_CLICK', wechat_click: 'EVENT_KIND_WECHAT_CLICK',
    video_progress: 'EVENT_KIND_VIDEO_PROGRESS', brochure_page: 'EVENT_KIND_BROCHURE_PAGE'
  };
  var endpoint = d.beacon || '/t';
  var beat = Math.max(500, Math.min(60000, parseInt(d.heartbeatMs, 10) || 15000));
  var ID_RE = /^[A-Za-z0-9_-]{8,64}$/;

  function uuid() {
    var c = window.crypto;
    if (c && c.randomUUID) return c.randomUUID();
    var a = new Uint8Array(16), i, h = '';
    if (c && c.getRandomValues) c.getRandomValues(a);
    else for (i = 0; i < 16; i++) a[i] = Math.random() * 256;
    a[6] = (a[6] & 15) | 64;
    a[8] = (a[8] & 63) | 128;
    for (i = 0; i < 16; i++) {
      h += (a[i] + 256).toString(16).slice(1);
      if (i === 3 || i === 5 || i === 7 || i === 9) h += '-';
    }
    return h;
  }

  function cookie() {
    var m = document.cookie.match(/(?:^|;\s*)sa_vid=([^;]+)/);
    return m && ID_RE.test(m[1]) ? m[1] : '';
  }

  function visitor() {
    var id = '';
    try { id = localStorage.getItem('sa_vid') || ''; } catch (e) { /* storage off: the cookie remains */ }
    if (!ID_RE.test(id)) id = cookie();
    if (!ID_RE.test(id)) id = uuid().replace(/-/g, '');
    try { localStorage.setItem('sa_vid', id); } catch (e) { /* ignore */ }
    if (cookie() !== id) {
      document.cookie = 'sa_vid=' + id + '; path=/; max-age=63072000; samesite=lax' +
        (location.protocol === 'https:' ? '; secure' : '');
    }
    return id;
  }

  var vid = visitor();

  function event(kind, extra) {
    var e = { eventId: uuid(), kind: KINDS[kind], shareToken: d.token, visitorId: vid, occurredAt: new Date().toISOString() };
    for (var k in extra) if (Object.prototype.hasOwnProperty.call(extra, k)) e[k] = extra[k];
    return e;
  }

  // send posts events; closing prefers sendBeacon, which survives the page going away.
  function send(events, closing) {
    var payload = JSON.stringify({ events: events });
    if (closing && navigator.sendBeacon) {
      try {
        if (navigator.sendBeacon(endpoint, new Blob([payload], { type: 'application/json' }))) return;
      } catch (e) { /* fall through */ }
    }
    try {
      if (window.fetch) {
        fetch(endpoint, { method: 'POST', body: payload, keepalive: true, credentials: 'same-origin',
          headers: { 'Content-Type': 'application/json' } })['catch'](function () {});
      } else {
        var x = new XMLHttpRequest();
        x.open('POST', endpoint, true);
        x.setRequestHeader('Content-Type', 'application/json');
        x.send(payload);
      }
    } catch (e) { /* a lost beacon loses only itself */ }
  }

  // The view, then dwell heartbeats while visible: hidden time is never counted.
  var view = event(KINDS[d.viewKind] ? d.viewKind : 'card_view', {});
  send([view], false);
  var since = document.hidden ? 0 : Date.now(), timer = 0;

  function dwell(closing) {
    if (!since) return;
    var now = Date.now(), ms = Math.min(now - since, 60000);
    since = document.hidden ? 0 : now;
    if (ms >= 1) send([event('dwell', { viewId: view.eventId, dwellMs: ms })], closing);
  }

  function schedule() {
    clearInterval(timer);
    timer = 0;
    if (!document.hidden) timer = setInterval(function () { dwell(false); }, beat);
  }

  document.addEventListener('visibilitychange', function () {
    if (document.hidden) {
      dwell(true);
      since = 0;
    } else {
      since = Date.now();
    }
    schedule();
  });
  window.addEventListener('pagehide', function () {
    dwell(true);
    since = 0;
    clearInterval(timer);
  });
  window.addEventListener('pageshow', function (e) {
    if (e.persisted && !document.hidden) {
      since = Date.now();
      schedule();
    }
  });
  schedule();

  // Taps: calls and tel: links leave the page, so they go by sendBeacon.
  document.addEventListener('click', function (e) {
    var el = e.target && e.target.closest ? e.target.closest('[data-track]') : null;
    if (el && KINDS[el.getAttribute('data-track')]) {
      var extra = {}, v = parseInt(el.getAttribute('data-value'), 10);
      if (v > 0) extra.value = v;
      send([event(el.getAttribute('data-track'), extra)], true);
    }
    var btn = e.target && e.target.closest ? e.target.closest('[data-copy]') : null;
    if (btn) copy(btn);
  });

  function copy(btn) {
    var src = document.getElementById(btn.getAttribute('data-copy'));
    if (!src) return;
    var text = src.textContent, label = btn.textContent;
    var done = function () {
      btn.textContent = '已复制';
      setTimeout(function () { btn.textContent = label; }, 1500);
    };
    if (navigator.clipboard && window.isSecureContext) {
      navigator.clipboard.writeText(text).then(done, function () { select(src) && done(); });
    } else if (select(src)) {
      done();
    }
  }

  function select(el) {
    try {
      var r = document.createRange();
      r.selectNodeContents(el);
      var s = window.getSelection();
      s.removeAllRanges();
      s.addRange(r);
      return document.execCommand('copy');
    } catch (e) {
      return false;
    }
  }

  var buttons = document.querySelectorAll('[data-copy]');
  for (var i = 0; i < buttons.length; i++) buttons[i].hidden = false;

  // Brochure pages, each once, when half of it was on screen.
  var pages = document.querySelectorAll('[data-page]');
  if (pages.length && window.IntersectionObserver) {
    var seen = {};
    var io = new IntersectionObserver(function (entries) {
      for (var k = 0; k < entries.length; k++) {
        var n = parseInt(entries[k].target.getAttribute('data-page'), 10);
        if (entries[k].isIntersecting && n > 0 && !seen[n]) {
          seen[n] = 1;
          send([event('brochure_page', { value: n })], false);
        }
      }
    }, { threshold: 0.5 });
    for (var p = 0; p < pages.length; p++) io.observe(pages[p]);
  }

  // Video progress, each quarter once.
  // WeChat forwards carry the visitor's child link, so the forward tree grows from the page.
  var wxc = null, sdk = document.getElementById('wx-sdk');
  try { wxc = d.wx && JSON.parse(d.wx); } catch (e) { /* no forwards through the JS-SDK */ }
  if (wxc && window.fetch) {
    if (window.wx && window.wx.config) wxShare();
    else if (sdk) sdk.addEventListener('load', wxShare);
  }

  function wxShare() {
    var wx = window.wx;
    if (!wx || !wx.config || !wx.ready) return;
    try {
      wx.config({ appId: wxc.appId, timestamp: wxc.timestamp, nonceStr: wxc.nonceStr, signature: wxc.signature,
        jsApiList: ['updateAppMessageShareData', 'updateTimelineShareData'] });
      if (wx.error) wx.error(function () {});
      wx.ready(function () {
        // Each way on (a chat, Moments) has a child link of its own.
        forward('SHARE_CHANNEL_CHAT', function (link) {
          wx.updateAppMessageShareData({ title: document.title, desc: d.shareDesc || '', link: link, imgUrl: d.shareImage || '' });
        });
        forward('SHARE_CHANNEL_MOMENTS', function (link) {
          wx.updateTimelineShareData({ title: document.title, link: link, imgUrl: d.shareImage || '' });
        });
      });
    } catch (e) { /* the page works without the JS-SDK */ }
  }

  // forward gets the visitor's child link for a channel.
  function forward(channel, use) {
    fetch('/salesapp.v1.PublicService/ForwardShare', { method: 'POST', credentials: 'same-origin',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ token: d.token, channel: channel, forwarder: vid }) })
      .then(function (r) { return r.ok ? r.json() : null; })
      .then(function (res) { if (res && res.url) use(res.url); })['catch'](function () {});
  }

  var videos = document.querySelectorAll('video[data-video-progress]');
  for (var j = 0; j < videos.length; j++) watch(videos[j]);

  function watch(v) {
    var sent = 0;
    function report(pct) {
      var q = pct >= 100 ? 100 : Math.floor(pct / 25) * 25;
      if (q > sent) {
        sent = q;
        send([event('video_progress', { value: q })], false);
      }
    }
    v.addEventListener('timeupdate', function () {
      if (v.duration > 0 && isFinite(v.duration)) report(v.currentTime / v.duration * 100);
    });
    v.addEventListener('ended', function () { report(100); });
  }
})();
