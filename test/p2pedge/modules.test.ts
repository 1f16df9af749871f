import { test } from 'node:test';
import assert from 'node:assert/strict';
import { CoreModules } from '../../src/p2pedge/modules.js';

const IMPORT = /(?:import|export)\s[^'";]*?from\s*['"]([^'"]+)['"]/g;

test('the browser gets the core\'s whole import closure from /p2p-js/, as plain JavaScript, starting at what web/p2p.js imports', async () => {
  const m = new CoreModules();
  const seen = new Set<string>();
  const todo = ['p2p/Peer.js', 'p2p/codec.js', 'p2p/sha256.js'];
  while (todo.length) {
    const rel = todo.pop()!;
    if (seen.has(rel)) continue;
    seen.add(rel);
    const js = await m.get(rel);
    assert.ok(js !== undefined, `${rel} is served`);
    assert.doesNotMatch(js, /^\s*(interface|type)\s+\w+/m, `${rel} is JavaScript, not TypeScript`);
    assert.doesNotMatch(js, /from\s*['"]node:/, `${rel} imports nothing Node-only`);
    for (const [, spec] of js.matchAll(IMPORT)) {
      const url = new URL(spec!, `http://x/p2p-js/${rel}`);
      assert.ok(url.pathname.startsWith('/p2p-js/'), `${rel} imports ${spec} outside the core`);
      todo.push(url.pathname.slice('/p2p-js/'.length));
    }
  }
  assert.ok(seen.has('wire/buf.js') && seen.has('p2p/peer/Membership.js'), [...seen].join(' '));
});

test('nothing outside the core is served, whatever the path says', async () => {
  const m = new CoreModules();
  for (const rel of ['server/Server.js', 'p2p/../server/Server.js', '../package.json', 'p2pedge/StreamEdge.js', 'wire/PacketHeader.js', 'p2p//Peer.js', 'p2p/Peer.ts', 'p2p/Peer', '%2e%2e/cli/main.js', 'p2p/Peer.js\u0000']) {
    assert.equal(await m.get(rel), undefined, rel);
  }
});
