/** The dashboard's pages. Pure functions from data to Html; every interpolation is escaped. */
import type { DeadLetter, QueuedWorkBatch, SessionOverview, TaskSession, TurnCommitRecord } from '../../store/contract.js';
import { html, trusted, type Html } from './html.js';
import { STYLE } from './style.js';

export interface PageChrome {
  user: string | null;
  csrf: string;
  active: 'sessions' | 'dead-letters' | 'queues' | null;
  notice?: { text: string; error?: boolean } | undefined;
}

export function page(title: string, chrome: PageChrome, body: Html): string {
  const nav = (href: string, key: PageChrome['active'], label: string) => html`<a href="${href}" class="${chrome.active === key ? 'active' : ''}">${label}</a>`;
  return html`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>${title} · turnlane</title><style>${trusted(STYLE)}</style></head>
<body>
<header class="top"><span class="brand"><span class="dot"></span>turnlane</span>
${chrome.user !== null ? html`<nav>${nav('/admin/sessions', 'sessions', 'Sessions')}${nav('/admin/dead-letters', 'dead-letters', 'Dead letters')}${nav('/admin/queues', 'queues', 'Queues (Bull Board)')}</nav>
<span class="who">${chrome.user}<form class="inline" method="post" action="/admin/logout"><input type="hidden" name="csrf" value="${chrome.csrf}"><button type="submit">Log out</button></form></span>` : ''}
</header>
<main>${chrome.notice ? html`<div class="notice ${chrome.notice.error ? 'error' : ''}" role="status">${chrome.notice.text}</div>` : ''}${body}</main>
</body></html>`.value;
}

/** The login form; `failed`: after a wrong password, or `throttled` after too many. */
export function loginPage(next: string, failed: boolean | 'throttled'): string {
  const notice = failed === 'throttled' ? { text: 'Too many failed logins. Try again later.', error: true } : failed ? { text: 'Wrong user or password.', error: true } : undefined;
  return page(
    'Log in',
    { user: null, csrf: '', active: null, notice },
    html`<div class="login"><div class="card"><div class="head"><h2>Operator login</h2></div><div class="body">
<form method="post" action="/admin/login"><input type="hidden" name="next" value="${next}">
<label for="user">User</label><input id="user" name="user" autocomplete="username" required autofocus>
<label for="password">Password</label><input id="password" name="password" type="password" autocomplete="current-password" required>
<button class="btn primary" type="submit">Log in</button></form></div></div></div>`,
  );
}

export function ago(ms: number | null, now: number): string {
  if (ms === null) return '—';
  const s = Math.max(0, Math.round((now - ms) / 1000));
  if (s < 60) return `${s}s ago`;
  if (s < 3600) return `${Math.floor(s / 60)}m ago`;
  if (s < 86_400) return `${Math.floor(s / 3600)}h ago`;
  return `${Math.floor(s / 86_400)}d ago`;
}

function statusPill(status: string): Html {
  return html`<span class="pill ${status}">${status}</span>`;
}

function leaseCell(lease: SessionOverview['lease']): Html {
  if (!lease) return html`<span class="muted">never leased</span>`;
  return html`<span class="pill ${lease.live ? 'live' : 'idle'}">${lease.live ? 'held' : 'free'}</span> <span class="mono">${lease.ownerId}</span> <span class="muted">· fencing ${lease.fencingToken}</span>`;
}

function budgetCell(s: { callsMade: number | null; callBudget: number | null }): Html {
  if (s.callBudget === null || s.callsMade === null) return html`<span class="muted">—</span>`;
  const pct = s.callBudget === 0 ? 100 : Math.min(100, Math.round((100 * s.callsMade) / s.callBudget));
  return html`<span class="bar"><span style="width:${pct}%"></span></span>${s.callsMade} / ${s.callBudget}`;
}

export function sessionsPage(chrome: PageChrome, sessions: SessionOverview[], now: number, filter: { agentId?: string | undefined; next: string | null }): string {
  const live = sessions.filter((s) => s.lease?.live).length;
  const queued = sessions.reduce((n, s) => n + s.queueDepth, 0);
  const dead = sessions.reduce((n, s) => n + s.deadLetterCount, 0);
  const rows = sessions.map(
    (s) => html`<tr>
<td><a class="mono" href="/admin/sessions/${encodeURIComponent(s.sessionId)}">${s.sessionId}</a>${s.agentId !== null ? html`<div class="muted">agent ${s.agentId}</div>` : ''}</td>
<td>${statusPill(s.status)}</td><td>${leaseCell(s.lease)}</td>
<td class="num">${s.queueDepth}${s.heldCount > 0 ? html` <span class="pill held">${s.heldCount} held</span>` : ''}</td>
<td class="num">${s.deadLetterCount > 0 ? html`<span class="pill dead">${s.deadLetterCount}</span>` : '0'}</td>
<td>${budgetCell(s)}</td><td class="num">${s.headRevision}</td><td>${ago(s.lastCommitAtMs, now)}</td></tr>`,
  );
  return page(
    'Sessions',
    chrome,
    html`<h1>Sessions</h1><p class="sub">Every session the store knows: task sessions, and implicit ones with queued work, a lease or commits.</p>
<div class="stats"><div class="stat"><div class="label">Sessions on this page</div><div class="value">${sessions.length}</div></div>
<div class="stat"><div class="label">Leases held</div><div class="value">${live}</div></div>
<div class="stat"><div class="label">Queued batches</div><div class="value">${queued}</div></div>
<div class="stat"><div class="label">Dead letters</div><div class="value">${dead}</div></div></div>
<div class="card"><div class="head"><h2>All sessions<span class="count">${sessions.length}</span></h2>
<form class="filters" method="get" action="/admin/sessions"><input name="agent" placeholder="Filter by agent id" value="${filter.agentId ?? ''}"><button class="btn" type="submit">Filter</button></form></div>
${sessions.length === 0 ? html`<div class="empty">No sessions yet. Enqueue input with <code>turnlane enqueue &lt;session&gt; &lt;text&gt;</code>.</div>` : html`<table><thead><tr><th>Session</th><th>Status</th><th>Lease holder</th><th class="num">Queue</th><th class="num">Dead</th><th>Budget used</th><th class="num">Head</th><th>Last commit</th></tr></thead><tbody>${rows}</tbody></table>`}
${filter.next ? html`<div class="pager"><a class="btn" href="/admin/sessions?after=${encodeURIComponent(filter.next)}${filter.agentId ? `&agent=${encodeURIComponent(filter.agentId)}` : ''}">Next page →</a></div>` : ''}</div>`,
  );
}

/** Characters of a batch's text the session page shows: a preview, not the payload (a page holds 50 batches of up to 256 KiB). */
const PREVIEW_CHARS = 200;

export function batchText(batch: QueuedWorkBatch): string {
  const text = batch.items
    .map(({ payload }) =>
      payload.type === 'turn_input'
        ? payload.input.items.map((i) => (i.type === 'text' ? i.text : `[image ${i.attachmentId}]`)).join(' ')
        : payload.type === 'process_wake'
          ? `wake ${payload.wake.eventType} from ${payload.wake.processId}`
          : `command ${payload.command.kind}`,
    )
    .join(' · ');
  return text.length > PREVIEW_CHARS ? `${text.slice(0, PREVIEW_CHARS)}… (${text.length} characters)` : text;
}

/** A "Next page" link, or nothing on the last page. */
function pager(href: string | null): Html {
  return href ? html`<div class="pager"><a class="btn" href="${href}">Next page →</a></div>` : html``;
}

function policyCell(batch: QueuedWorkBatch): Html {
  return html`<div>${batch.deliveryPolicy}</div><div class="muted">${batch.slotPolicy}${batch.mergeKey.kind === 'group' ? html` · key <span class="mono">${batch.mergeKey.key}</span>` : ''}</div>`;
}

export interface SessionPageData {
  overview: SessionOverview | null;
  policy: TaskSession | null;
  batches: Array<QueuedWorkBatch & { held: boolean }>;
  commits: TurnCommitRecord[];
  deadLetters: DeadLetter[];
  now: number;
  /** Links to the next page of batches and of dead letters; null on the last page. */
  batchesNext: string | null;
  deadLettersNext: string | null;
}

export function sessionPage(chrome: PageChrome, sessionId: string, d: SessionPageData): string {
  const id = encodeURIComponent(sessionId);
  const hidden = html`<input type="hidden" name="csrf" value="${chrome.csrf}">`;
  const status = d.policy?.status ?? d.overview?.status ?? 'implicit';
  const batchRows = d.batches.map(
    (b) => html`<tr data-batch="${b.batchId}"><td class="mono">${b.batchId}<div class="muted">seq ${b.enqueueSeq}${b.sourceKey !== null ? html` · key ${b.sourceKey}` : ''}</div></td>
<td>${policyCell(b)}</td><td class="text">${batchText(b)}</td>
<td>${b.held ? html`<span class="pill held">held</span>` : b.availableAtMs > d.now ? html`<span class="pill idle">at ${new Date(b.availableAtMs).toISOString()}</span>` : html`<span class="pill live">ready</span>`}</td>
<td>${b.held ? '' : html`<form class="inline" method="post" action="/admin/sessions/${id}/batches/${encodeURIComponent(b.batchId)}/cancel">${hidden}<button class="btn danger" type="submit">Cancel</button></form>`}</td></tr>`,
  );
  const commitRows = d.commits.map(
    (c) => html`<tr><td class="num">${c.headRevision}</td><td class="mono">${c.turnId}</td><td>${ago(c.committedAtMs, d.now)}</td><td class="num">${c.enqueuedBatchCount}</td></tr>`,
  );
  const deadRows = d.deadLetters.map(
    (l) => html`<tr data-dead="${l.batchId}"><td class="mono">${l.batchId}</td><td class="reason">${l.reason}</td><td class="num">${l.attempts}</td><td>${ago(l.deadLetteredAtMs, d.now)}</td>
<td><form class="inline" method="post" action="/admin/dead-letters/${encodeURIComponent(l.batchId)}/requeue">${hidden}<input type="hidden" name="back" value="${sessionId}"><button class="btn" type="submit">Requeue</button></form></td></tr>`,
  );
  const o = d.overview;
  return page(
    sessionId,
    chrome,
    html`<p class="sub"><a href="/admin/sessions">← Sessions</a></p><h1 class="mono">${sessionId}</h1>
<p class="sub">${statusPill(status)} ${d.policy ? html`agent <span class="mono">${d.policy.agentId}</span>` : 'implicit session (no policy)'}</p>
<div class="stats"><div class="stat"><div class="label">Head revision</div><div class="value">${o?.headRevision ?? 0}</div></div>
<div class="stat"><div class="label">Queued</div><div class="value">${o?.queueDepth ?? 0}</div></div>
<div class="stat"><div class="label">Dead letters</div><div class="value">${o?.deadLetterCount ?? 0}</div></div>
<div class="stat"><div class="label">Budget used</div><div class="value">${d.policy ? `${d.policy.callsMade} / ${d.policy.callBudget}` : '—'}</div></div></div>
<div class="card"><div class="head"><h2>Lease and policy</h2>${status === 'active' ? html`<form class="inline" method="post" action="/admin/sessions/${id}/close">${hidden}<button class="btn danger" type="submit">Close session</button></form>` : ''}</div>
<div class="body"><dl class="kv"><dt>Lease holder</dt><dd>${leaseCell(o?.lease ?? null)}</dd>
${o?.lease ? html`<dt>Lease expires</dt><dd>${new Date(o.lease.expiresAtMs).toISOString()}</dd>` : ''}
<dt>Last commit</dt><dd>${ago(o?.lastCommitAtMs ?? null, d.now)}</dd>
${d.policy ? html`<dt>Authorized tools</dt><dd class="mono">${d.policy.authorizedTools.join(', ') || '—'}</dd><dt>Intent</dt><dd>${d.policy.declaredIntent || '—'}</dd>
<dt>Rate limit</dt><dd>${d.policy.rateLimitPerWindow === null ? 'none' : `${d.policy.rateLimitPerWindow} per ${d.policy.rateLimitWindowSecs}s`}</dd>
<dt>Expires</dt><dd>${new Date(d.policy.expiresAtMs).toISOString()}</dd><dt>Sensitivity ceiling</dt><dd>${d.policy.dataSensitivityCeiling}</dd>` : ''}</dl></div></div>
<div class="card"><div class="head"><h2>Pending batches<span class="count">${d.batches.length}</span></h2></div>
${d.batches.length === 0 ? html`<div class="empty">The queue is empty.</div>` : html`<table><thead><tr><th>Batch</th><th>Policies</th><th>Input</th><th>Availability</th><th></th></tr></thead><tbody>${batchRows}</tbody></table>`}${pager(d.batchesNext)}</div>
<div class="card"><div class="head"><h2>Recent turn commits<span class="count">${d.commits.length}</span></h2></div>
${d.commits.length === 0 ? html`<div class="empty">No turn committed yet.</div>` : html`<table><thead><tr><th class="num">Revision</th><th>Turn</th><th>Committed</th><th class="num">Outbox</th></tr></thead><tbody>${commitRows}</tbody></table>`}</div>
<div class="card"><div class="head"><h2>Dead letters<span class="count">${d.deadLetters.length}</span></h2></div>
${d.deadLetters.length === 0 ? html`<div class="empty">No dead letters.</div>` : html`<table><thead><tr><th>Batch</th><th>Reason</th><th class="num">Attempts</th><th>When</th><th></th></tr></thead><tbody>${deadRows}</tbody></table>`}${pager(d.deadLettersNext)}</div>`,
  );
}

export function deadLettersPage(chrome: PageChrome, letters: DeadLetter[], now: number, next: string | null = null): string {
  const rows = letters.map(
    (l) => html`<tr data-dead="${l.batchId}"><td><a class="mono" href="/admin/sessions/${encodeURIComponent(l.sessionId)}">${l.sessionId}</a></td><td class="mono">${l.batchId}</td>
<td class="reason">${l.reason}</td><td class="num">${l.attempts}</td><td>${ago(l.deadLetteredAtMs, now)}</td>
<td><form class="inline" method="post" action="/admin/dead-letters/${encodeURIComponent(l.batchId)}/requeue"><input type="hidden" name="csrf" value="${chrome.csrf}"><button class="btn" type="submit">Requeue</button></form></td></tr>`,
  );
  return page(
    'Dead letters',
    chrome,
    html`<h1>Dead letters</h1><p class="sub">Batches taken out of their queue after repeated failed turns, with the last error. Requeue puts one back at the tail of its session.</p>
<div class="card">${letters.length === 0 ? html`<div class="empty">No dead letters.</div>` : html`<table><thead><tr><th>Session</th><th>Batch</th><th>Reason</th><th class="num">Attempts</th><th>When</th><th></th></tr></thead><tbody>${rows}</tbody></table>`}${pager(next)}</div>`,
  );
}

export function errorPage(chrome: PageChrome, status: number, code: string, message: string): string {
  return page(
    `Error ${status}`,
    chrome,
    html`<div class="card"><div class="head"><h2>${status} · ${code}</h2></div><div class="body"><p class="text">${message}</p><p><a href="/admin/sessions">← Back to sessions</a></p></div></div>`,
  );
}
