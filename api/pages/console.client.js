// The console's browser script (served inline by api/pages/console.ts, allowed by its CSP hash).
// Holds the API key in sessionStorage only and sends it only in the Authorization header; every
// value from the API reaches the DOM as text (textContent), never as markup.
'use strict';
(() => {
  const STORAGE = 'opstrails.api_key';
  const PAGE_SIZE = 20;
  const VERDICTS = {
    regression: 'regression',
    improvement: 'improvement',
    no_change: 'no change',
    inconclusive: 'inconclusive',
    insufficient_data: 'insufficient data',
    pending: 'pending',
  };
  const el = (id) => document.getElementById(id);
  const VIEWS = ['key-view', 'timeline-view', 'report-view'];
  let cursor = null;
  let timelineLoaded = false;
  let reportToken = 0;
  let refreshTimer = null;

  function getKey() {
    try {
      return sessionStorage.getItem(STORAGE);
    } catch {
      // Storage blocked (a sandbox, strict privacy settings): no saved key, so the console asks for one.
      return null;
    }
  }

  function show(view) {
    for (const v of VIEWS) el(v).hidden = v !== view;
    el('forget-key').hidden = !getKey();
  }

  function message(text, kind) {
    const box = el('message');
    box.textContent = text || '';
    box.className = 'message ' + (kind || 'error');
    box.hidden = !text;
  }

  class ApiError extends Error {
    constructor(status, detail) {
      super(detail);
      this.status = status;
    }
  }

  /** GET an API path with the key in the Authorization header; non-2xx answers become ApiErrors. */
  async function api(path, accept) {
    let res;
    try {
      res = await fetch(path, {
        headers: { Authorization: 'Bearer ' + getKey(), Accept: accept },
        cache: 'no-cache',
        credentials: 'omit',
        referrerPolicy: 'no-referrer',
      });
    } catch (err) {
      throw new ApiError(
        0,
        'Could not reach the server (' +
          ((err && err.message) || 'network error') +
          '). Check the connection and try again.',
      );
    }
    if (!res.ok) {
      let detail = res.statusText || 'request failed';
      try {
        const body = await res.json();
        if (body && typeof body.detail === 'string') detail = body.detail;
      } catch {
        // Not a problem+json body (a proxy's error page): the status text still says what failed.
      }
      throw new ApiError(res.status, detail);
    }
    return res;
  }

  /** Shows an API failure in words; a refused key sends the user back to the key form. */
  function explain(err, what) {
    if (!(err instanceof ApiError))
      return message('Something went wrong while loading ' + what + ': ' + String((err && err.message) || err));
    if (err.status === 401) {
      sessionStorage.removeItem(STORAGE);
      timelineLoaded = false;
      show('key-view');
      message('The API key was not accepted (401: ' + err.message + '). Enter a valid key.');
      el('api-key').focus();
      return;
    }
    if (err.status === 403)
      return message(
        'This API key may not read ' + what + ' (403: ' + err.message + '). Use a key with the "read" scope.',
      );
    if (err.status === 404) return message('Not found: ' + what + ' (404: ' + err.message + ').');
    if (err.status === 0) return message(err.message);
    message('The server could not deliver ' + what + ' (' + err.status + ': ' + err.message + ').');
  }

  const reportPath = (id) => '/reports/' + encodeURIComponent(id);

  function fmtTime(t) {
    const d = new Date(t);
    if (isNaN(d.getTime())) return String(t || '');
    const s = d.toISOString();
    return s.slice(0, 10) + ' ' + s.slice(11, 16) + ' UTC';
  }

  function fmtPct(x) {
    if (typeof x !== 'number' || !isFinite(x)) return '';
    const v = x * 100;
    const a = Math.abs(v);
    return (v < 0 ? '\u2212' : '+') + (a >= 10 ? a.toFixed(0) : a >= 1 ? a.toFixed(1) : a.toFixed(2)) + '%';
  }

  function badge(verdict, status) {
    const span = document.createElement('span');
    const v = verdict || (status === 'failed' ? 'failed' : 'pending');
    span.className = 'badge badge-' + (VERDICTS[v] ? v : 'inconclusive');
    span.textContent = VERDICTS[v] || (v === 'failed' ? 'analysis failed' : String(v));
    return span;
  }

  function cell(tr, content, header) {
    const td = document.createElement(header ? 'th' : 'td');
    if (header) td.scope = 'row';
    if (content instanceof Node) td.append(content);
    else td.textContent = content == null ? '' : String(content);
    tr.append(td);
    return td;
  }

  function row(item) {
    const tr = document.createElement('tr');
    tr.className = 'event-row';
    tr.dataset.id = item.id;
    const link = document.createElement('a');
    link.href = reportPath(item.id);
    link.className = 'event-link';
    link.textContent = item.id;
    cell(tr, fmtTime(item.time));
    const what = document.createElement('div');
    const type = document.createElement('span');
    type.className = 'type';
    type.textContent = item.type;
    what.append(link, document.createElement('br'), type);
    cell(tr, what, true);
    cell(tr, item.subject || '');
    cell(tr, item.version || '');
    cell(tr, badge(item.verdict, item.status));
    const w = item.worst_metric;
    cell(tr, w ? w.name + (typeof w.relative === 'number' ? ' ' + fmtPct(w.relative) : '') : '');
    return tr;
  }

  function filters() {
    const form = new FormData(el('filters'));
    const q = new URLSearchParams();
    for (const k of ['subject', 'type', 'verdict']) {
      const v = String(form.get(k) || '').trim();
      if (v) q.set(k, v);
    }
    return q;
  }

  async function loadTimeline(reset) {
    const body = el('events-body');
    if (reset) {
      cursor = null;
      body.replaceChildren();
    }
    const q = filters();
    q.set('limit', String(PAGE_SIZE));
    if (cursor) q.set('cursor', cursor);
    const more = el('load-more');
    more.disabled = true;
    el('timeline').setAttribute('aria-busy', 'true');
    try {
      const res = await api('/v1/impact?' + q.toString(), 'application/json');
      const page = await res.json();
      for (const item of page.items || []) body.append(row(item));
      cursor = page.next_cursor || null;
      more.hidden = !cursor;
      el('empty').hidden = body.children.length > 0;
      message('');
    } catch (err) {
      timelineLoaded = false;
      explain(err, 'the event timeline');
    } finally {
      more.disabled = false;
      el('timeline').removeAttribute('aria-busy');
    }
  }

  /** Shows this month's usage alert of the key's org (GET /v1/org), if it has one; says nothing otherwise. */
  async function loadUsage() {
    const box = el('usage');
    try {
      const org = await (await api('/v1/org', 'application/json')).json();
      const alert = (org.alerts || []).find((a) => a.period_start === (org.quota && org.quota.period_start));
      box.textContent = alert ? 'Usage alert: ' + alert.message + '.' : '';
      box.hidden = !alert;
    } catch {
      // The timeline says what is wrong with the key; the usage line is only an extra.
      box.hidden = true;
    }
  }

  function resizeFrame() {
    const frame = el('report-frame');
    try {
      const doc = frame.contentDocument;
      if (doc && doc.documentElement) frame.style.height = doc.documentElement.scrollHeight + 'px';
    } catch {
      // A frame we cannot measure (not yet loaded, or not same-origin) keeps its default height; its
      // content is unaffected and scrolls inside the frame.
    }
  }

  async function openReport(id, quiet) {
    clearTimeout(refreshTimer);
    show('report-view');
    el('report-title').textContent = 'Impact report: ' + id;
    document.title = 'Impact report ' + id + ' \u2014 OpsTrails Impact';
    const frame = el('report-frame');
    const status = el('report-status');
    if (!quiet) {
      frame.hidden = true;
      status.textContent = 'Loading the report\u2026';
    }
    const token = ++reportToken;
    const path = location.pathname;
    try {
      const res = await api('/v1/events/' + encodeURIComponent(id) + '/impact', 'text/html');
      const type = res.headers.get('content-type') || '';
      if (!type.startsWith('text/html'))
        throw new ApiError(res.status, 'the server answered ' + type + ' instead of HTML');
      const html = await res.text();
      if (token !== reportToken) return;
      frame.srcdoc = html;
      frame.hidden = false;
      // While pending the server says when to look again.
      const retry = Number(res.headers.get('retry-after'));
      status.textContent = retry > 0 ? 'This report is pending; it refreshes by itself.' : '';
      if (retry > 0) {
        refreshTimer = setTimeout(
          () => {
            if (token === reportToken && location.pathname === path) openReport(id, true);
          },
          Math.min(retry, 300) * 1000,
        );
      }
      message('');
    } catch (err) {
      if (token !== reportToken) return;
      status.textContent = '';
      explain(err, 'the impact report of event "' + id + '"');
    }
  }

  /** Shows what the URL names: the key form first when no key is held. */
  function route() {
    clearTimeout(refreshTimer);
    reportToken++;
    if (!getKey()) {
      show('key-view');
      el('api-key').focus();
      return;
    }
    const m = /^\/reports\/(.+)$/.exec(location.pathname);
    if (m) {
      let id;
      try {
        id = decodeURIComponent(m[1]);
      } catch {
        // A malformed %-escape: use the path segment as typed; an unknown id gets the API's 404 shown.
        id = m[1];
      }
      openReport(id);
      return;
    }
    show('timeline-view');
    document.title = 'Events \u2014 OpsTrails Impact';
    if (!timelineLoaded) {
      timelineLoaded = true;
      loadTimeline(true);
      loadUsage();
    }
  }

  function navigate(path) {
    message('');
    history.pushState(null, '', path);
    route();
  }

  const plainClick = (e) => e.button === 0 && !e.metaKey && !e.ctrlKey && !e.shiftKey && !e.altKey;

  el('key-form').addEventListener('submit', (e) => {
    e.preventDefault();
    const input = el('api-key');
    const key = input.value.trim();
    if (!key) return;
    sessionStorage.setItem(STORAGE, key);
    input.value = '';
    message('');
    timelineLoaded = false;
    route();
  });

  el('forget-key').addEventListener('click', () => {
    sessionStorage.removeItem(STORAGE);
    timelineLoaded = false;
    el('events-body').replaceChildren();
    el('report-frame').srcdoc = '';
    show('key-view');
    message('The API key was forgotten in this tab.', 'info');
  });

  el('filters').addEventListener('submit', (e) => {
    e.preventDefault();
    loadTimeline(true);
  });
  el('filters').addEventListener('reset', () => setTimeout(() => loadTimeline(true), 0));
  el('load-more').addEventListener('click', () => loadTimeline(false));

  el('events-body').addEventListener('click', (e) => {
    const tr = e.target instanceof Element ? e.target.closest('tr.event-row') : null;
    if (!tr || !plainClick(e)) return;
    e.preventDefault();
    navigate(reportPath(tr.dataset.id));
  });

  for (const id of ['back', 'home']) {
    el(id).addEventListener('click', (e) => {
      if (!plainClick(e)) return;
      e.preventDefault();
      navigate('/');
    });
  }
  el('print').addEventListener('click', () => {
    const w = el('report-frame').contentWindow;
    if (w) w.print();
  });
  el('report-frame').addEventListener('load', resizeFrame);
  window.addEventListener('resize', resizeFrame);
  window.addEventListener('popstate', route);
  route();
})();
