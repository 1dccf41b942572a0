/** The dashboard's stylesheet: no framework, system fonts, one accent colour, status pills. */
export const STYLE = `
:root { --bg:#f6f7f9; --card:#fff; --ink:#1d2330; --muted:#6b7280; --line:#e5e7eb; --accent:#3b5bdb; --accent-ink:#fff;
  --ok:#0f7b4a; --ok-bg:#e3f6ec; --warn:#9a6700; --warn-bg:#fff4d6; --bad:#b42318; --bad-bg:#fde8e7; --idle:#4b5563; --idle-bg:#eef0f3; }
* { box-sizing: border-box; }
body { margin:0; font:14px/1.45 -apple-system, BlinkMacSystemFont, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif; background:var(--bg); color:var(--ink); }
header.top { background:#141a26; color:#fff; padding:0 24px; display:flex; align-items:center; gap:24px; height:52px; }
header.top .brand { font-weight:700; letter-spacing:.2px; font-size:16px; display:flex; align-items:center; gap:8px; }
header.top .brand .dot { width:10px; height:10px; border-radius:50%; background:#5c7cfa; box-shadow:0 0 0 3px rgba(92,124,250,.25); }
header.top nav a { color:#c7cede; text-decoration:none; margin-right:18px; font-weight:500; }
header.top nav a.active, header.top nav a:hover { color:#fff; }
header.top .who { margin-left:auto; color:#9aa3b5; font-size:13px; display:flex; gap:12px; align-items:center; }
header.top .who button { background:transparent; border:1px solid #3a4357; color:#c7cede; border-radius:6px; padding:4px 10px; cursor:pointer; }
main { max-width:1200px; margin:0 auto; padding:24px; }
h1 { font-size:22px; margin:0 0 4px; font-weight:650; }
h1.mono { font-size:20px; }
h2 { font-size:15px; margin:0; font-weight:650; }
.sub { color:var(--muted); margin:0 0 20px; }
.card { background:var(--card); border:1px solid var(--line); border-radius:10px; margin-bottom:20px; overflow:hidden; box-shadow:0 1px 2px rgba(16,24,40,.04); }
.card > .head { display:flex; align-items:center; justify-content:space-between; padding:14px 18px; border-bottom:1px solid var(--line); }
.card > .head .count { color:var(--muted); font-weight:500; margin-left:6px; }
.card > .body { padding:16px 18px; }
.stats { display:grid; grid-template-columns:repeat(auto-fit, minmax(150px, 1fr)); gap:14px; margin-bottom:20px; }
.stat { background:var(--card); border:1px solid var(--line); border-radius:10px; padding:14px 16px; }
.stat .label { color:var(--muted); font-size:12px; text-transform:uppercase; letter-spacing:.5px; }
.stat .value { font-size:22px; font-weight:650; margin-top:4px; font-variant-numeric:tabular-nums; }
table { width:100%; border-collapse:collapse; }
th, td { text-align:left; padding:10px 18px; border-bottom:1px solid var(--line); vertical-align:middle; }
th { font-size:12px; color:var(--muted); font-weight:600; text-transform:uppercase; letter-spacing:.4px; background:#fafbfc; }
tr:last-child td { border-bottom:none; }
tbody tr:hover { background:#f9fafb; }
td.num, th.num { text-align:right; font-variant-numeric:tabular-nums; }
a { color:var(--accent); text-decoration:none; }
a:hover { text-decoration:underline; }
code, .mono { font-family:ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; font-size:12.5px; }
.muted { color:var(--muted); }
.pill { display:inline-block; padding:2px 9px; border-radius:999px; font-size:12px; font-weight:600; }
.pill.active, .pill.live { color:var(--ok); background:var(--ok-bg); }
.pill.implicit, .pill.idle { color:var(--idle); background:var(--idle-bg); }
.pill.closed { color:var(--idle); background:var(--idle-bg); }
.pill.expired, .pill.held { color:var(--warn); background:var(--warn-bg); }
.pill.dead { color:var(--bad); background:var(--bad-bg); }
.bar { display:inline-block; width:70px; height:6px; background:var(--idle-bg); border-radius:3px; vertical-align:middle; margin-right:8px; overflow:hidden; }
.bar > span { display:block; height:100%; background:var(--accent); }
.btn { display:inline-block; border:1px solid var(--line); background:#fff; color:var(--ink); padding:5px 12px; border-radius:6px; font-size:13px; font-weight:500; cursor:pointer; }
.btn:hover { background:#f3f4f6; }
.btn.primary { background:var(--accent); color:var(--accent-ink); border-color:var(--accent); }
.btn.danger { color:var(--bad); border-color:#f3c5c1; }
.btn.danger:hover { background:var(--bad-bg); }
form.inline { display:inline; margin:0; }
.notice { padding:10px 14px; border-radius:8px; margin-bottom:16px; background:var(--ok-bg); color:var(--ok); border:1px solid #bfe6d1; }
.notice.error { background:var(--bad-bg); color:var(--bad); border-color:#f3c5c1; }
.empty { padding:28px 18px; text-align:center; color:var(--muted); }
.filters { display:flex; gap:8px; align-items:center; }
.filters input { border:1px solid var(--line); border-radius:6px; padding:5px 10px; font-size:13px; }
.reason { color:var(--bad); max-width:420px; overflow-wrap:anywhere; }
.text { max-width:360px; overflow-wrap:anywhere; }
.login { max-width:360px; margin:90px auto; }
.login .card .body { padding:24px; }
.login label { display:block; font-size:13px; font-weight:600; margin:12px 0 6px; }
.login input { width:100%; border:1px solid var(--line); border-radius:6px; padding:8px 10px; font-size:14px; }
.login button { width:100%; margin-top:18px; padding:9px; font-size:14px; }
dl.kv { display:grid; grid-template-columns:160px 1fr; gap:8px 16px; margin:0; }
dl.kv dt { color:var(--muted); }
dl.kv dd { margin:0; }
.pager { padding:12px 18px; text-align:right; }
`;
