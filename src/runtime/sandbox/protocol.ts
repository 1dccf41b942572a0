/**
 * The messages between a worker and a sandbox process (src/runtime/sandbox/child.ts). They travel
 * over Node's IPC channel with `serialization: 'advanced'` (structured clone), so attachment bytes
 * cross as Uint8Array.
 */
import type { PersistedSessionRead, AttachmentCreateMeta, TokenLedgerEntry } from '../../store/contract.js';
import type { ToolUseDeclaration, TurnInputView, TurnResult } from '../turn.js';

/** What the handler sees of its turn, as data. */
export interface SandboxTurn {
  sessionId: string;
  turnId: string;
  fencingToken: number;
  inputs: TurnInputView[];
  session: PersistedSessionRead | null;
  /** pino bindings for the turn's logger in the sandbox. */
  logBindings: Record<string, unknown>;
}

/** An error crossing the channel. `ref` names an error the worker sent, so a rethrow hands the worker its own object back. */
export interface WireError {
  ref?: number;
  name: string;
  message: string;
  code?: string;
  /** TurnAbortedError's reason. */
  reason?: string;
}

/** The turn context calls the sandbox makes back to the worker. */
export type SandboxCall =
  | { op: 'checkpoint' }
  | { op: 'tools.use'; names: string[]; declared?: ToolUseDeclaration }
  | { op: 'attachments.put'; bytes: Uint8Array; meta: AttachmentCreateMeta }
  | { op: 'attachments.get'; id: string };

export type ToSandbox =
  | { type: 'run'; turn: SandboxTurn }
  | { type: 'abort'; reason: string }
  | { type: 'reply'; id: number; ok: true; value: unknown }
  | { type: 'reply'; id: number; ok: false; error: WireError };

export type FromSandbox =
  | { type: 'ready' }
  | { type: 'call'; id: number; call: SandboxCall }
  | { type: 'usage'; entry: TokenLedgerEntry }
  | { type: 'done'; ok: true; result: TurnResult }
  | { type: 'done'; ok: false; error: WireError };

/** Arguments of the sandbox entry: the handler's module (a file URL) and its export. */
export interface SandboxArgs {
  moduleUrl: string;
  exportName: string;
  logLevel: string;
}
