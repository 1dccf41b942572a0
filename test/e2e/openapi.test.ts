/**
 * The OpenAPI 3.1 document at /openapi.json: generated from the routes' zod schemas, listing every
 * route the server registers (taken from the same buildApp as the fuzzer's inventory, so a new
 * route cannot be left out), and a rendered reference page at /docs.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { inputBody } from '../../src/server/schemas.js';
import { createRuntimeFixture, type RuntimeFixture } from '../helpers/runtime.js';
import { routeInventory, startServerProcess, type ServerProcess } from '../helpers/server.js';

let f: RuntimeFixture;
let server: ServerProcess;
let doc: { openapi: string; paths: Record<string, Record<string, { requestBody?: { content: Record<string, { schema: { properties?: Record<string, unknown> } }> }; security?: unknown[] }>> };

/** Routes that hide themselves from the document: Bull Board's UI and API, the reference page's own files, the document itself. */
const SELF_HIDDEN = [/^\/admin\/queues(\/|$)/, /^\/docs(\/|$)/, /^\/openapi\.json$/];

beforeAll(async () => {
  f = await createRuntimeFixture();
  server = await startServerProcess(f.env());
  const response = await fetch(`${server.url}/openapi.json`);
  expect(response.status).toBe(200);
  doc = (await response.json()) as typeof doc;
});
afterAll(async () => {
  await server?.stop();
  await f?.cleanup();
});

describe('OpenAPI document', () => {
  it('is OpenAPI 3.1 and lists every registered route with its method', async () => {
    expect(doc.openapi).toBe('3.1.0');
    const routes = (await routeInventory()).filter((r) => r.method !== 'HEAD' && !SELF_HIDDEN.some((re) => re.test(r.url)));
    expect(routes.length).toBeGreaterThan(15);
    const missing = routes.filter((r) => {
      const path = r.url.replace(/:([A-Za-z0-9_]+)/g, '{$1}');
      return doc.paths[path]?.[r.method.toLowerCase()] === undefined;
    });
    expect(missing).toEqual([]);
  });

  it("takes its request schemas from the routes' zod schemas", () => {
    const enqueue = doc.paths['/v1/sessions/{id}/inputs']!.post!;
    const properties = enqueue.requestBody!.content['application/json']!.schema.properties!;
    expect(Object.keys(properties).sort()).toEqual(Object.keys(inputBody.shape).sort());
    expect(enqueue.security).toEqual([{ apiKey: [] }, { operatorBasic: [] }]);
    // Dead letters are per tenant: a producer key reads its own tenant's, an operator every tenant's.
    expect(doc.paths['/v1/dead-letters']!.get!.security).toEqual([{ apiKey: [] }, { operatorBasic: [] }]);
    expect(doc.paths['/v1/sessions']!.get!.security).toEqual([{ operatorBasic: [] }]);
  });

  it('serves a rendered reference page', async () => {
    const page = await fetch(`${server.url}/docs/`);
    expect(page.status).toBe(200);
    expect(page.headers.get('content-type')).toMatch(/^text\/html/);
    expect(await page.text()).toContain('swagger');
  });
});
