/**
 * A Server-Sent Events parser over a fetch body (the WHATWG event stream format: `id:`,
 * `event:`, `data:`, `retry:`, comment lines, blank line ends an event). Small enough to keep
 * here rather than add a dependency for the one stream the API has.
 */

export interface RawSseEvent {
  event: string;
  data: string;
  id: string | null;
}

/** Yields each complete event of `body`; `onRetry` receives `retry:` hints (ms). Ends when the body ends. */
export async function* parseSse(body: ReadableStream<Uint8Array>, onRetry: (ms: number) => void): AsyncGenerator<RawSseEvent> {
  const decoder = new TextDecoder();
  const reader = body.getReader();
  let buffer = '';
  let event = '';
  let data: string[] = [];
  let id: string | null = null;
  try {
    for (;;) {
      const { value, done } = await reader.read();
      if (done) return;
      buffer += decoder.decode(value, { stream: true });
      let newline: number;
      while ((newline = buffer.search(/\r\n|\r|\n/)) >= 0) {
        const line = buffer.slice(0, newline);
        buffer = buffer.slice(newline + (buffer.startsWith('\r\n', newline) ? 2 : 1));
        if (line === '') {
          if (data.length > 0) yield { event: event || 'message', data: data.join('\n'), id };
          event = '';
          data = [];
          continue;
        }
        if (line.startsWith(':')) continue;
        const colon = line.indexOf(':');
        const field = colon >= 0 ? line.slice(0, colon) : line;
        const text = colon >= 0 ? line.slice(colon + 1).replace(/^ /, '') : '';
        if (field === 'event') event = text;
        else if (field === 'data') data.push(text);
        else if (field === 'id') id = text;
        else if (field === 'retry' && /^\d+$/.test(text)) onRetry(Number(text));
      }
    }
  } finally {
    reader.releaseLock();
    await body.cancel().catch(() => {});
  }
}
