/**
 * The edge's HTTP-FLV for a P2P play URL: what a Node peer that cannot do P2P plays instead
 * (the same bytes a browser falls back to, over HTTP rather than a WebSocket).
 */
export async function playEdgeFlv(url: string, write: (b: Uint8Array) => void, signal?: AbortSignal): Promise<string> {
  const u = new URL(url);
  const flv = new URL(`${u.pathname.replace(/\/$/, '')}.flv${u.search}`, u);
  const res = await fetch(flv, signal ? { signal } : {});
  if (!res.ok || !res.body) return `edge FLV refused: HTTP ${res.status}`;
  try {
    for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) write(chunk);
  } catch (err) {
    return `edge FLV: ${(err as Error).message}`;
  }
  return 'edge FLV ended';
}
