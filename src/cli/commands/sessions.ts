/** `turnlane sessions [--agent]` and `turnlane session <id>`: the operator views. */
import type { Command } from 'commander';
import { SessionNotFoundError } from '../../errors.js';
import { sessionView } from '../../server/routes/sessions.js';
import { connectStore, withConnection } from '../connect.js';
import { isoOrDash, print, renderTable } from '../output.js';

export function registerSessionCommands(program: Command): void {
  program
    .command('sessions')
    .description('list sessions: status, lease holder and fencing token, queue depth, budget, last commit')
    .option('--agent <agentId>', 'only the task sessions of this agent')
    .option('--after <sessionId>', 'start after this session id (pages are ordered by id)')
    .option('--limit <n>', 'at most this many (1–1000)', (v) => Number(v), 100)
    .option('--json', 'print JSON')
    .action(async (options: { agent?: string; after?: string; limit: number; json?: boolean }) => {
      const sessions = await withConnection(connectStore, ({ store }) =>
        store.operator.listSessions({ limit: options.limit, ...(options.agent ? { agentId: options.agent } : {}), ...(options.after ? { afterSessionId: options.after } : {}) }),
      );
      print(options, sessions, (list) =>
        list.length === 0
          ? 'no sessions'
          : renderTable(
              ['session', 'status', 'lease holder', 'fencing', 'queue', 'held', 'dead', 'budget', 'head', 'last commit'],
              list.map((s) => [
                s.sessionId,
                s.status,
                s.lease ? `${s.lease.ownerId}${s.lease.live ? '' : ' (free)'}` : '-',
                s.lease ? String(s.lease.fencingToken) : '-',
                String(s.queueDepth),
                String(s.heldCount),
                String(s.deadLetterCount),
                s.callBudget === null ? '-' : `${s.callsMade}/${s.callBudget}`,
                String(s.headRevision),
                isoOrDash(s.lastCommitAtMs),
              ]),
            ),
      );
    });

  program
    .command('session <id>')
    .description('one session: policy, status, budget, head revision, lease holder (never the token), queue depth, recent commits')
    .option('--json', 'print JSON')
    .action(async (id: string, options: { json?: boolean }) => {
      const data = await withConnection(connectStore, async ({ store }) => {
        const view = await sessionView(store, id);
        if (!view) throw new SessionNotFoundError(`no session ${id}`, { sessionId: id });
        return { ...view, recentCommits: await store.operator.recentCommits(id, 10) };
      });
      print(options, data, (v) => {
        const lines: Array<[string, string]> = [
          ['session', v.sessionId],
          ['status', v.status],
          ['agent', v.policy?.agentId ?? '-'],
          ['head revision', String(v.headRevision)],
          ['last commit', isoOrDash(v.lastCommitAtMs)],
          ['lease holder', v.lease ? `${v.lease.ownerId} (fencing ${v.lease.fencingToken}, ${v.lease.live ? `live until ${isoOrDash(v.lease.expiresAtMs)}` : 'free'})` : '-'],
          ['queue', `${v.queueDepth} (${v.heldCount} held)`],
          ['dead letters', String(v.deadLetterCount)],
          ['budget', v.callBudget === null ? '-' : `${v.callsMade}/${v.callBudget}`],
        ];
        const width = Math.max(...lines.map(([k]) => k.length));
        const head = lines.map(([k, val]) => `${k.padEnd(width)}  ${val}`).join('\n');
        const commits = v.recentCommits.length
          ? `\n\nrecent commits\n${renderTable(['revision', 'turn', 'committed'], v.recentCommits.map((c) => [String(c.headRevision), c.turnId, isoOrDash(c.committedAtMs)]))}`
          : '';
        return head + commits;
      });
    });
}
