/**
 * The demo agent: deterministic and offline. For each input it appends the user message, then
 * "thinks", calls a tool through the session policy and reaches a checkpoint, twice, so a message
 * sent mid-turn is answered in the same turn; then it appends one assistant reply.
 *
 * Test directives in the input text: `!poison` makes the turn throw (dead-lettered after the
 * configured attempts); `!exit` kills the process mid-turn (the chaos poison scenario).
 */
import type { NodeDraft, TurnHandler, TurnInputView } from '../src/runtime/turn.js';

export interface DemoAgentOptions {
  /** Milliseconds per thinking step. */
  thinkMs: number;
  /** Thinking steps per turn, each followed by a tool call and a checkpoint. Default 2. */
  steps?: number;
}

export function inputText(input: TurnInputView): string {
  const p = input.payload;
  if (p.type === 'turn_input') return p.input.items.map((i) => (i.type === 'text' ? i.text : `[image ${i.attachmentId}]`)).join(' ');
  if (p.type === 'process_wake') return p.wake.input;
  return `/${p.command.kind}`;
}

function pause(ms: number, signal: AbortSignal): Promise<void> {
  if (ms <= 0 || signal.aborted) return Promise.resolve();
  return new Promise((resolve) => {
    const timer = setTimeout(done, ms);
    function done() {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    }
    signal.addEventListener('abort', done, { once: true });
  });
}

export function createDemoAgent(options: DemoAgentOptions): TurnHandler {
  const steps = options.steps ?? 2;
  return async (turn) => {
    const append: NodeDraft[] = [];
    const heard: string[] = [];
    let midTurn = 0;
    const hear = (inputs: TurnInputView[]) => {
      for (const input of inputs) {
        const text = inputText(input);
        if (text.includes('!poison')) throw new Error('the demo agent refuses a poison input');
        if (text.includes('!exit')) process.exit(86);
        heard.push(text);
        append.push({ causedBy: input.batchId, payload: { kind: 'message', role: 'user', parts: [{ type: 'text', text }] } });
      }
    };
    hear(turn.inputs);
    for (let step = 0; step < steps && !turn.signal.aborted; step++) {
      await pause(options.thinkMs, turn.signal);
      await turn.tools.use(['search']);
      const more = await turn.checkpoint();
      midTurn += more.length;
      hear(more);
    }
    append.push({ payload: { kind: 'message', role: 'assistant', parts: [{ type: 'text', text: `echo: ${heard.join(' | ')}` }] } });
    turn.usage.record({ source: 'turn', model: 'demo-echo', usage: { inputTokens: heard.join(' ').length, outputTokens: heard.length, cachedInputTokens: 0, reasoningTokens: 0 } });
    turn.log.debug({ inputs: heard.length, midTurn }, 'demo turn done');
    return { append, checkpoint: { data: { heard: heard.length, midTurn } } };
  };
}
