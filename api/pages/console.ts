// The console: one static page (no data inside) that asks for an API key, lists events with
// their verdicts from /v1/impact and shows a report from /v1/events/{id}/impact in a sandboxed
// frame. Its inline script and styles are constants, so the CSP allows them by hash.
import { readFileSync } from 'node:fs';
import { BADGE_CSS, cspHash, headerRow } from './html.js';
import { REPORT_STYLE_HASH } from './report.js';

/** The browser script (kept as its own file so it reads and lints as JavaScript). */
export const CONSOLE_JS = readFileSync(new URL('./console.client.js', import.meta.url), 'utf8');

export const CONSOLE_CSS = `
:root{color-scheme:light}
*{box-sizing:border-box}
body{margin:0;background:#f3f4f6;color:#111827;font:15px/1.5 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif}
.top{display:flex;align-items:center;justify-content:space-between;gap:1rem;padding:.6rem 1.25rem;background:#111827;color:#fff}
.top a{color:#fff}
.brand{font-weight:700;text-decoration:none}
.top nav{display:flex;gap:1rem;align-items:center}
main{max-width:1100px;margin:0 auto;padding:1.25rem}
h1{font-size:1.4rem;margin:.2rem 0 .8rem;overflow-wrap:anywhere}
button{font:inherit;padding:.35rem .9rem;border-radius:6px;border:1px solid #374151;background:#fff;color:#111827;cursor:pointer}
button[type=submit]{background:#1d4ed8;border-color:#1d4ed8;color:#fff}
.top button{background:transparent;color:#fff;border-color:#9ca3af}
button:focus-visible,a:focus-visible,input:focus-visible,select:focus-visible{outline:3px solid #f59e0b;outline-offset:2px}
input,select{font:inherit;padding:.3rem .5rem;border:1px solid #6b7280;border-radius:6px;background:#fff;color:#111827}
label{display:inline-flex;flex-direction:column;font-size:.85rem;color:#374151;gap:.15rem}
.panel{background:#fff;border:1px solid #d1d5db;border-radius:8px;padding:1rem 1.25rem}
#key-form{display:flex;gap:.6rem;align-items:flex-end;flex-wrap:wrap}
#key-form input{min-width:22rem}
#filters{display:flex;gap:.8rem;align-items:flex-end;flex-wrap:wrap;margin-bottom:1rem}
table{border-collapse:collapse;width:100%;background:#fff;font-size:.92rem}
th,td{text-align:left;padding:.45rem .6rem;border-bottom:1px solid #e5e7eb;vertical-align:top}
thead th{border-bottom:2px solid #9ca3af;white-space:nowrap}
tbody th{font-weight:400}
tr.event-row{cursor:pointer}
#timeline td:first-child{white-space:nowrap}
tr.event-row:hover{background:#eff6ff}
.event-link{font-weight:600;color:#1d4ed8;overflow-wrap:anywhere}
.type{color:#4b5563;font-size:.85rem}
#load-more{margin-top:1rem}
.message{margin:0 0 1rem;padding:.6rem .9rem;border-radius:6px;border:1px solid #b42318;background:#fef2f2;color:#7f1d1d}
.message.info{border-color:#1d4ed8;background:#eff6ff;color:#1e3a8a}
.bar{display:flex;align-items:center;gap:1rem;flex-wrap:wrap;margin-bottom:.6rem}
.bar h1{margin:0;flex:1}
#report-frame{width:100%;min-height:600px;border:1px solid #d1d5db;border-radius:8px;background:#fff;display:block}
#report-frame[hidden]{display:none}
.sr-only{position:absolute;width:1px;height:1px;padding:0;margin:-1px;overflow:hidden;clip:rect(0,0,0,0);white-space:nowrap;border:0}
a{color:#1d4ed8}
${BADGE_CSS}
`;

/** Content-Security-Policy of the console: only its own inline script and styles, API calls to this origin. */
export const CONSOLE_CSP = [
  "default-src 'none'",
  `script-src ${cspHash(CONSOLE_JS)}`,
  // The report shown in the srcdoc frame inherits this policy, so its style block is allowed too.
  `style-src ${cspHash(CONSOLE_CSS)} ${REPORT_STYLE_HASH}`,
  'img-src data:',
  "connect-src 'self'",
  "frame-src 'self'",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join('; ');

const VERDICT_OPTIONS = [
  ['', 'any'],
  ['regression', 'regression'],
  ['improvement', 'improvement'],
  ['no_change', 'no change'],
  ['inconclusive', 'inconclusive'],
];

/** The console page (the same bytes for `/` and `/reports/{id}`: the script reads the path). */
export function renderConsolePage(): string {
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="no-referrer">
<link rel="icon" href="data:,">
<title>OpsTrails Impact</title>
<style>${CONSOLE_CSS}</style>
</head>
<body>
<header class="top">
<a href="/" id="home" class="brand">OpsTrails Impact</a>
<nav aria-label="Site"><a href="/docs">API reference</a><button type="button" id="forget-key" hidden>Forget key</button></nav>
</header>
<main>
<div id="message" class="message" role="alert" hidden></div>
<section id="key-view" class="panel" aria-labelledby="key-h" hidden>
<h1 id="key-h">Enter an API key</h1>
<p>The console reads events and impact reports with an API key that has the <code>read</code> scope.
The key stays in this browser tab only (session storage, cleared when the tab closes) and is sent only in the
<code>Authorization</code> header, never in a URL.</p>
<form id="key-form">
<label for="api-key">API key<input id="api-key" name="api-key" type="password" autocomplete="off" spellcheck="false" required></label>
<button type="submit">Continue</button>
</form>
</section>
<section id="timeline-view" aria-labelledby="timeline-h" hidden>
<h1 id="timeline-h">Events and their impact</h1>
<p id="usage" class="message info" role="status" hidden></p>
<form id="filters" role="search" aria-label="Filter events">
<label>Subject<input name="subject" placeholder="production" autocomplete="off"></label>
<label>Type<input name="type" placeholder="deployment" autocomplete="off"></label>
<label>Verdict<select name="verdict">${VERDICT_OPTIONS.map(([v, w]) => `<option value="${v}">${w}</option>`).join('')}</select></label>
<button type="submit">Apply filters</button>
<button type="reset">Clear</button>
</form>
<table id="timeline">
<caption class="sr-only">Events, newest first; open one to see its impact report</caption>
${headerRow(['Time (UTC)', 'Event', 'Subject', 'Version', 'Verdict', 'Worst metric'])}
<tbody id="events-body"></tbody>
</table>
<p id="empty" hidden>No events match these filters.</p>
<button type="button" id="load-more" hidden>Load more</button>
</section>
<section id="report-view" aria-labelledby="report-title" hidden>
<div class="bar">
<a href="/" id="back">← All events</a>
<h1 id="report-title">Impact report</h1>
<button type="button" id="print">Print report</button>
</div>
<p id="report-status" role="status"></p>
<iframe id="report-frame" title="Impact report" sandbox="allow-same-origin allow-modals" hidden></iframe>
</section>
</main>
<script>${CONSOLE_JS}</script>
</body>
</html>
`;
}
