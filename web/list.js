// The stream list on `/`: polls GET /api/streams every 2 s.
'use strict';

function cell(text) {
  const td = document.createElement('td');
  td.textContent = text;
  return td;
}

function duration(ms) {
  if (ms == null) return '';
  const s = Math.floor(ms / 1000);
  return `${Math.floor(s / 3600)}:${String(Math.floor(s / 60) % 60).padStart(2, '0')}:${String(s % 60).padStart(2, '0')}`;
}

function row(s) {
  const tr = document.createElement('tr');
  const name = document.createElement('td');
  const a = document.createElement('a');
  a.href = `/play/${encodeURIComponent(s.app)}/${encodeURIComponent(s.key)}`;
  a.textContent = `${s.app}/${s.key}`;
  name.append(a);
  tr.append(
    name,
    cell(s.video ? `${s.video.codec} ${s.video.width ?? '?'}x${s.video.height ?? '?'}` : '-'),
    cell(s.audio ? `${s.audio.codec} ${s.audio.sampleRate ?? ''}` : '-'),
    cell(`${s.bitrateKbps} kb/s`),
    cell(String(s.fps)),
    cell(Object.entries(s.viewers).map(([p, n]) => `${p} ${n}`).join(', ') || '0'),
    cell(duration(s.uptimeMs)),
    cell(s.publisher ? `${s.publisher.protocol} ${s.publisher.address}` : 'offline'),
  );
  return tr;
}

async function refresh() {
  const body = document.getElementById('streams');
  try {
    // Same origin, so the tributary_api cookie (set by opening /?token=...) goes with it.
    const res = await fetch('/api/streams', { cache: 'no-store', credentials: 'same-origin' });
    if (!res.ok) {
      const tr = document.createElement('tr');
      const td = cell(`${res.status}: ${(await res.text()).trim()}`);
      td.colSpan = 8;
      td.className = 'muted';
      tr.append(td);
      return void body.replaceChildren(tr);
    }
    const { streams } = await res.json();
    body.replaceChildren(...streams.map(row));
    if (streams.length === 0) {
      const tr = document.createElement('tr');
      const td = cell('no live streams');
      td.colSpan = 8;
      td.className = 'muted';
      tr.append(td);
      body.append(tr);
    }
  } catch (err) {
    body.replaceChildren();
  }
}

refresh();
setInterval(refresh, 2000);
