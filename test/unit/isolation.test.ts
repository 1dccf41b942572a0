/**
 * The turn gate of src/runtime/isolation.ts: a suspect turn runs alone in its process; the others
 * wait for it without holding claims. The gate itself is pure (order is observed through promises
 * settling); the drain loop's gating runs against the in-memory reference store.
 */
import { afterEach, describe, expect, it, vi } from 'vitest';
import { admitTurn, isSuspect, TurnGate, TurnNotAdmittedError, type AdmissionHooks, type GateExit } from '../../src/runtime/isolation.js';
import { drainForTest } from '../helpers/drain.js';
import type { TurnHandler, TurnResult } from '../../src/runtime/turn.js';
import { silentLogger } from '../../src/logger.js';
import { createInMemoryStore } from '../../src/store/memory/index.js';
import { sessionCommandDraft, turnInputDraft } from '../../src/store/drafts.js';
import type { RuntimeStore, SessionLease } from '../../src/store/contract.js';
import { INTERRUPTED_TURN, processExitedReason } from '../../src/store/reasons.js';

afterEach(() => {
  vi.useRealTimers();
});

/** Lets every settled promise run its continuations. */
const settle = () => new Promise<void>((resolve) => setImmediate(resolve));

/** Enters in the background and records when it got in. */
function entering(gate: TurnGate, mode: 'shared' | 'alone', log: string[], name: string, signal?: AbortSignal): Promise<GateExit> {
  return gate.enter(mode, signal).then((exit) => {
    log.push(name);
    return exit;
  });
}

describe('TurnGate', () => {
  it('lets shared turns run together', async () => {
    const gate = new TurnGate();
    const a = gate.tryEnter('shared');
    const b = gate.tryEnter('shared');
    expect(a && b).toBeTruthy();
    expect(gate.state).toMatchObject({ shared: 2, alone: false });
  });

  it('runs an alone turn only when no turn is in flight and holds new turns back meanwhile', async () => {
    const gate = new TurnGate();
    const log: string[] = [];
    const first = gate.tryEnter('shared')!;
    const second = gate.tryEnter('shared')!;
    const suspect = entering(gate, 'alone', log, 'suspect');
    // Writer preference: a shared turn arriving after the suspect waits behind it.
    expect(gate.tryEnter('shared')).toBeNull();
    const late = entering(gate, 'shared', log, 'late');
    await settle();
    expect(log).toEqual([]);
    first();
    await settle();
    expect(log).toEqual([]);
    second();
    await settle();
    expect(log).toEqual(['suspect']);
    expect(gate.state).toMatchObject({ shared: 0, alone: true, waitingShared: 1 });
    (await suspect)();
    await settle();
    expect(log).toEqual(['suspect', 'late']);
    (await late)();
    expect(gate.state).toEqual({ shared: 0, alone: false, waitingAlone: 0, waitingShared: 0 });
  });

  it('runs alone turns one at a time, in arrival order, before the shared turns that waited', async () => {
    const gate = new TurnGate();
    const log: string[] = [];
    const running = gate.tryEnter('shared')!;
    const s1 = entering(gate, 'alone', log, 's1');
    const r1 = entering(gate, 'shared', log, 'r1');
    const s2 = entering(gate, 'alone', log, 's2');
    const r2 = entering(gate, 'shared', log, 'r2');
    running();
    await settle();
    expect(log).toEqual(['s1']);
    (await s1)();
    await settle();
    expect(log).toEqual(['s1', 's2']);
    (await s2)();
    await settle();
    expect(log).toEqual(['s1', 's2', 'r1', 'r2']);
    expect(gate.state).toMatchObject({ shared: 2, alone: false });
    (await r1)();
    (await r2)();
  });

  it('gives up a wait when its signal fires; a suspect that stops waiting lets the shared turns in', async () => {
    const gate = new TurnGate();
    const log: string[] = [];
    const running = gate.tryEnter('shared')!;
    const stop = new AbortController();
    const suspect = entering(gate, 'alone', log, 'suspect', stop.signal);
    const blocked = entering(gate, 'shared', log, 'blocked');
    await settle();
    expect(log).toEqual([]);
    stop.abort('lease_lost');
    await expect(suspect).rejects.toBe('lease_lost');
    await settle();
    expect(log).toEqual(['blocked']);
    running();
    (await blocked)();
    expect(gate.state).toEqual({ shared: 0, alone: false, waitingAlone: 0, waitingShared: 0 });
    await expect(gate.enter('alone', stop.signal)).resolves.toBeTypeOf('function');
  });

  it('upgrades a shared exit to alone only for the one turn in the gate, with no alone turn waiting', async () => {
    const gate = new TurnGate();
    const a = gate.tryEnter('shared')!;
    const b = gate.tryEnter('shared')!;
    expect(gate.upgrade(a)).toBeNull();
    b();
    const alone = gate.upgrade(a)!;
    expect(gate.state).toMatchObject({ shared: 0, alone: true });
    a();
    expect(gate.state).toMatchObject({ shared: 0, alone: true });
    alone();
    expect(gate.upgrade(a)).toBeNull();
    const c = gate.tryEnter('shared')!;
    const waiting = gate.enter('alone');
    expect(gate.upgrade(c)).toBeNull();
    c();
    (await waiting)();
  });

  it('counts an exit once however often it is called', () => {
    const gate = new TurnGate();
    const a = gate.tryEnter('shared')!;
    gate.tryEnter('shared');
    a();
    a();
    expect(gate.state.shared).toBe(1);
  });
});

describe('admitTurn', () => {
  const fresh = { batches: [{ batchId: 'b1', attempts: 0, lastError: null }] };
  const interrupted = { batches: [{ batchId: 'b2', attempts: 1, lastError: INTERRUPTED_TURN }] };

  function hooks(overrides: Partial<AdmissionHooks> = {}): AdmissionHooks & { calls: string[] } {
    const calls: string[] = [];
    return {
      calls,
      signal: new AbortController().signal,
      letGo: async () => (calls.push('letGo'), true),
      takeBack: async () => (calls.push('takeBack'), true),
      markAlone: async () => (calls.push('markAlone'), true),
      log: silentLogger(),
      ...overrides,
    };
  }

  it('tells a suspect by an interruption as its last failure, not by a thrown one', () => {
    expect(isSuspect(interrupted)).toBe(true);
    expect(isSuspect(fresh)).toBe(false);
    expect(isSuspect({ batches: [{ batchId: 'b', attempts: 2, lastError: 'Error: boom' }] })).toBe(false);
    expect(isSuspect({ batches: [...fresh.batches, ...interrupted.batches] })).toBe(true);
  });

  it('admits without touching the claims when nothing is in the way', async () => {
    const gate = new TurnGate();
    const h = hooks();
    const exit = await admitTurn(gate, fresh, h);
    expect(h.calls).toEqual([]);
    expect(gate.state.shared).toBe(1);
    exit();
    const alone = await admitTurn(gate, interrupted, h);
    expect(gate.state.alone).toBe(true);
    // A suspect's claims are marked alone: its process's death is charged to it only.
    expect(h.calls).toEqual(['markAlone']);
    alone();
  });

  it("fails and leaves the gate when a suspect's claims cannot be marked alone", async () => {
    const gate = new TurnGate();
    await expect(admitTurn(gate, interrupted, hooks({ markAlone: async () => false }))).rejects.toBeInstanceOf(TurnNotAdmittedError);
    expect(gate.state).toEqual({ shared: 0, alone: false, waitingAlone: 0, waitingShared: 0 });
  });

  it('lets the claims go before waiting and takes them back once admitted', async () => {
    const gate = new TurnGate();
    const running = gate.tryEnter('shared')!;
    const h = hooks();
    const admitted = admitTurn(gate, interrupted, h);
    await settle();
    expect(h.calls).toEqual(['letGo']);
    running();
    const exit = await admitted;
    expect(h.calls).toEqual(['letGo', 'takeBack', 'markAlone']);
    expect(gate.state.alone).toBe(true);
    exit();
  });

  it('fails and leaves the gate when the batches cannot be taken back', async () => {
    const gate = new TurnGate();
    const suspect = gate.tryEnter('alone')!;
    const admitted = admitTurn(gate, fresh, hooks({ takeBack: async () => false }));
    await settle();
    suspect();
    await expect(admitted).rejects.toBeInstanceOf(TurnNotAdmittedError);
    expect(gate.state).toEqual({ shared: 0, alone: false, waitingAlone: 0, waitingShared: 0 });
  });

  it('runs a ticketed turn under its ticket, and upgrades a ticketed suspect that is alone in the gate', async () => {
    const gate = new TurnGate();
    const h = hooks();
    const ticket = gate.tryEnter('shared')!;
    expect(await admitTurn(gate, fresh, h, ticket)).toBe(ticket);
    expect(gate.state.shared).toBe(1);
    ticket();
    const alone = await admitTurn(gate, interrupted, h, gate.tryEnter('shared')!);
    expect(gate.state).toMatchObject({ shared: 0, alone: true });
    expect(h.calls).toEqual(['markAlone']);
    alone();
  });

  it('lets the claim of a ticketed suspect go while its ticket still keeps other suspects out', async () => {
    const gate = new TurnGate();
    const other = gate.tryEnter('shared')!;
    const ticket = gate.tryEnter('shared')!;
    let releaseLetGo!: () => void;
    const calls: string[] = [];
    const h = hooks({
      letGo: () => new Promise<boolean>((resolve) => (releaseLetGo = () => resolve(true))).then((v) => (calls.push('letGo'), v)),
      takeBack: async () => (calls.push('takeBack'), true),
    });
    const admitted = admitTurn(gate, interrupted, h, ticket);
    // Another suspect arrives and the other turn ends while the claim is still being let go.
    const log: string[] = [];
    const rival = entering(gate, 'alone', log, 'rival');
    other();
    await settle();
    expect(log).toEqual([]);
    releaseLetGo();
    await settle();
    expect(log).toEqual(['rival']);
    (await rival)();
    const exit = await admitted;
    expect(calls).toEqual(['letGo', 'takeBack']);
    exit();
  });

  it('waits holding the claims when they could not be let go, and then takes nothing back', async () => {
    const gate = new TurnGate();
    const suspect = gate.tryEnter('alone')!;
    const h = hooks({ letGo: async () => false });
    const admitted = admitTurn(gate, fresh, h);
    await settle();
    suspect();
    (await admitted)();
    expect(h.calls).toEqual([]);
  });
});

describe('the drain loop and the gate', () => {
  const owner = { ownerId: 'w', incarnationId: 'w:1' };
  const TTL = 30_000;

  function drainWith(store: RuntimeStore, lease: SessionLease, gate: TurnGate, handler: TurnHandler) {
    return drainForTest(store, owner, lease, handler, { leaseTtlMs: TTL, isolation: gate });
  }

  async function leased(store: RuntimeStore, sessionId: string): Promise<SessionLease> {
    const outcome = await store.leases.tryClaim(sessionId, owner, TTL);
    if (outcome.kind !== 'acquired') throw new Error('busy');
    return outcome.lease;
  }

  it('claims nothing while a suspect runs, then runs the turn under the place it took before claiming', async () => {
    const inner = createInMemoryStore();
    const gate = new TurnGate();
    const calls: string[] = [];
    const store: RuntimeStore = {
      ...inner,
      queue: { ...inner.queue, claimNext: (req) => (calls.push('claimNext'), inner.queue.claimNext(req)), abandonClaim: (c, f) => (calls.push('abandonClaim'), inner.queue.abandonClaim(c, f)) },
      sessions: { ...inner.sessions, commitAndClaimNext: (c, n) => (calls.push(`commitAndClaimNext ${JSON.stringify(gate.state)}`), inner.sessions.commitAndClaimNext(c, n)) },
    };
    await store.queue.enqueue(turnInputDraft('s', 'hello', 'after_current_turn_commit', 'exclusive'));
    const lease = await leased(store, 's');
    const suspect = gate.tryEnter('alone')!;
    const seen: unknown[] = [];
    const draining = drainWith(store, lease, gate, async () => {
      seen.push(gate.state);
      return { append: [] } satisfies TurnResult;
    });
    for (let i = 0; i < 20; i++) await settle();
    // Nothing is claimed while the suspect runs (not even briefly): a crash now would charge no other batch.
    expect(calls).toEqual([]);
    suspect();
    const report = await draining;
    expect(report.committed).toBe(1);
    // The commit claims the next turn (none here) holding the place it took for it first.
    expect(calls).toEqual(['claimNext', `commitAndClaimNext ${JSON.stringify({ shared: 1, alone: false, waitingAlone: 0, waitingShared: 0 })}`]);
    expect(seen).toEqual([{ shared: 1, alone: false, waitingAlone: 0, waitingShared: 0 }]);
    expect(gate.state).toEqual({ shared: 0, alone: false, waitingAlone: 0, waitingShared: 0 });
  });

  it.each([
    ['interrupted by its worker', INTERRUPTED_TURN, 'all', false],
    ['ended its sandbox', processExitedReason("the turn's sandbox process exited with code 86 during the turn"), 'all', false],
    ['interrupted by its worker', INTERRUPTED_TURN, 'off', true],
  ] as const)('a suspect whose last attempt %s, sandbox %s: runs alone and is marked alone: %s', async (_, lastError, sandbox, alone) => {
    const inner = createInMemoryStore();
    const marked: string[] = [];
    // The batch's last failure as the claim reports it (the reference store's takeover path is not needed for that).
    const store: RuntimeStore = {
      ...inner,
      queue: {
        ...inner.queue,
        markClaimAlone: (c) => (marked.push(c.claimId), inner.queue.markClaimAlone(c)),
        claimNext: async (req) => {
          const result = await inner.queue.claimNext(req);
          return result.claim ? { ...result, claim: { ...result.claim, batches: result.claim.batches.map((b) => ({ ...b, lastError })) } } : result;
        },
      },
    };
    await store.queue.enqueue(turnInputDraft('s', 'hello', 'after_current_turn_commit', 'exclusive'));
    const lease = await leased(store, 's');
    const gate = new TurnGate();
    const seen: boolean[] = [];
    const inProcess = async () => (seen.push(gate.state.alone), { append: [] });
    const report = await drainForTest(
      store,
      owner,
      lease,
      sandbox === 'off'
        ? inProcess
        : async () => {
            throw new Error('a sandboxed turn must not run in this process');
          },
      { leaseTtlMs: TTL, isolation: gate, ...(sandbox === 'off' ? {} : { sandbox: { turns: sandbox, handler: inProcess } }) },
    );
    expect(report.committed).toBe(1);
    // A sandboxed turn cannot end its worker: it never runs alone, and its worker's death is never charged to it.
    expect(seen).toEqual([alone]);
    expect(marked.length).toBe(alone ? 1 : 0);
    expect(gate.state).toEqual({ shared: 0, alone: false, waitingAlone: 0, waitingShared: 0 });
  });

  it('keeps a suspect alone in the gate until its commit has landed, a shared turn only while its handler runs', async () => {
    const inner = createInMemoryStore();
    const atCommit: boolean[] = [];
    const gate = new TurnGate();
    const store: RuntimeStore = {
      ...inner,
      queue: {
        ...inner.queue,
        claimNext: async (req) => {
          const result = await inner.queue.claimNext(req);
          const lastError = req.sessionId === 'suspect' ? INTERRUPTED_TURN : null;
          return result.claim ? { ...result, claim: { ...result.claim, batches: result.claim.batches.map((b) => ({ ...b, lastError })) } } : result;
        },
      },
      // A suspect's commit holds the gate alone, so it cannot claim ahead: a plain commit. A shared turn's commit claims ahead.
      sessions: {
        ...inner.sessions,
        commit: (c) => (atCommit.push(gate.state.alone), inner.sessions.commit(c)),
        commitAndClaimNext: (c, n) => (atCommit.push(gate.state.alone), inner.sessions.commitAndClaimNext(c, n)),
      },
    };
    for (const s of ['suspect', 'fresh']) {
      await store.queue.enqueue(turnInputDraft(s, 'hello', 'after_current_turn_commit', 'exclusive'));
      const report = await drainWith(store, await leased(store, s), gate, async () => ({ append: [] }));
      expect(report.committed).toBe(1);
    }
    // While the suspect's commit is in flight its claim is still marked alone: a crash of another turn then would be charged to it.
    expect(atCommit).toEqual([true, false]);
    expect(gate.state).toEqual({ shared: 0, alone: false, waitingAlone: 0, waitingShared: 0 });
  });

  it('gives the place of a session-command claim and of an empty claim back at once', async () => {
    const store = createInMemoryStore();
    await store.queue.enqueue(sessionCommandDraft('c', { kind: 'reset_session', reason: 'test' }, 'reset-1'));
    const lease = await leased(store, 'c');
    const gate = new TurnGate();
    const report = await drainWith(store, lease, gate, async () => {
      throw new Error('a session command runs no handler');
    });
    expect(report.committed).toBe(1);
    expect(gate.state).toEqual({ shared: 0, alone: false, waitingAlone: 0, waitingShared: 0 });
  });
});
