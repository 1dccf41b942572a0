/**
 * The turn gate of src/runtime/isolation.ts: a suspect turn runs alone in its process; the others
 * wait for it without holding claims. Pure: no store, no clock; order is observed through
 * promises settling.
 */
import { describe, expect, it } from 'vitest';
import { admitTurn, isSuspect, TurnGate, TurnNotAdmittedError, type AdmissionHooks, type GateExit } from '../../src/runtime/isolation.js';
import { silentLogger } from '../../src/logger.js';
import { INTERRUPTED_TURN } from '../../src/store/reasons.js';

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
    expect(h.calls).toEqual([]);
    alone();
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
    expect(h.calls).toEqual(['letGo', 'takeBack']);
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
