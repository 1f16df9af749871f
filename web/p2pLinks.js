// Data channels to other viewers, set up through the edge's signalling WebSocket. The one
// who has something to send first offers; when both offer at once, the lower id's offer wins
// (the other drops its own and answers). Messages wait in a short queue while a channel
// opens; a channel that never opens is dropped and the core finds out by silence.
'use strict';

const QUEUE_MAX = 64;
const OPEN_TIMEOUT_MS = 8000;

export class Links {
  /** `signal(to, data)` sends through the edge; `onMessage(id, bytes)` gets what a peer sent. */
  constructor({ rtc, myId, signal, onMessage, stats }) {
    this.rtc = rtc;
    this.myId = myId;
    this.signal = signal;
    this.onMessage = onMessage;
    this.stats = stats;
    this.links = new Map();
  }

  send(to, bytes) {
    let l = this.links.get(to);
    if (!l) l = this.create(to, true);
    if (l.dc && l.dc.readyState === 'open') {
      // A message over the channel's limit would close it; the core asks the edge instead.
      if (bytes.length > (l.pc.sctp?.maxMessageSize || 65536)) return void this.stats.tooBig++;
      l.dc.send(bytes);
      this.stats.sentBytes += bytes.length;
    } else if (l.queue.length < QUEUE_MAX) l.queue.push(bytes);
    else this.stats.queueDropped++;
  }

  /** Bytes waiting in every open channel: the core's measure of its upload backlog. */
  buffered() {
    let n = 0;
    for (const l of this.links.values()) if (l.dc && l.dc.readyState === 'open') n += l.dc.bufferedAmount;
    return n;
  }

  get open() {
    let n = 0;
    for (const l of this.links.values()) if (l.dc && l.dc.readyState === 'open') n++;
    return n;
  }

  create(id, offerer) {
    const pc = new RTCPeerConnection(this.rtc);
    const l = { id, pc, dc: null, queue: [], offerer, remoteSet: false, candidates: [], timer: 0 };
    this.links.set(id, l);
    pc.onicecandidate = (e) => e.candidate && this.signal(id, { candidate: e.candidate.toJSON() });
    pc.onconnectionstatechange = () => {
      if (pc.connectionState === 'failed' || pc.connectionState === 'closed') this.drop(id, l);
    };
    l.timer = setTimeout(() => {
      if (!l.dc || l.dc.readyState !== 'open') {
        this.stats.openTimeouts++;
        this.drop(id, l);
      }
    }, OPEN_TIMEOUT_MS);
    if (offerer) {
      this.attach(l, pc.createDataChannel('p2p', { ordered: true }));
      pc.createOffer()
        .then((o) => pc.setLocalDescription(o))
        .then(() => this.signal(id, { sdp: pc.localDescription.toJSON() }))
        .catch(() => this.drop(id, l));
    } else pc.ondatachannel = (e) => this.attach(l, e.channel);
    return l;
  }

  attach(l, dc) {
    l.dc = dc;
    dc.binaryType = 'arraybuffer';
    dc.onopen = () => {
      this.stats.channelsOpened++;
      this.notePair(l.pc);
      for (const b of l.queue.splice(0)) this.send(l.id, b);
    };
    dc.onclose = () => this.drop(l.id, l);
    dc.onmessage = (e) => {
      if (!(e.data instanceof ArrayBuffer)) return void this.stats.garbage++;
      this.stats.receivedBytes += e.data.byteLength;
      this.onMessage(l.id, new Uint8Array(e.data));
    };
  }

  /** The candidate types of an open channel's pair ('host', 'srflx', 'relay'): the panel's and the tests' view of the path. */
  notePair(pc) {
    pc.getStats().then((report) => {
      const byId = new Map();
      report.forEach((r) => byId.set(r.id, r));
      report.forEach((r) => {
        if (r.type !== 'transport' || !r.selectedCandidatePairId) return;
        const pair = byId.get(r.selectedCandidatePairId);
        const local = pair && byId.get(pair.localCandidateId);
        const remote = pair && byId.get(pair.remoteCandidateId);
        if (local && remote) this.stats.pairs = [...this.stats.pairs, `${local.candidateType}/${remote.candidateType}`].slice(-8);
      });
    }, () => undefined);
  }

  /** A signal from peer `from` (through the edge): untrusted, so every field is checked. */
  async onSignal(from, data) {
    if (typeof from !== 'number' || typeof data !== 'object' || data === null) return;
    let l = this.links.get(from);
    const sdp = data.sdp;
    try {
      if (sdp && sdp.type === 'offer' && typeof sdp.sdp === 'string') {
        if (l && l.offerer && this.myId < from) return; // our offer wins; they answer it
        const queue = l ? l.queue : [];
        if (l) this.drop(from, l);
        l = this.create(from, false);
        l.queue = queue;
        await l.pc.setRemoteDescription(sdp);
        await this.remoteSet(l);
        const answer = await l.pc.createAnswer();
        await l.pc.setLocalDescription(answer);
        this.signal(from, { sdp: l.pc.localDescription.toJSON() });
      } else if (sdp && sdp.type === 'answer' && typeof sdp.sdp === 'string' && l && l.offerer && !l.remoteSet) {
        await l.pc.setRemoteDescription(sdp);
        await this.remoteSet(l);
      } else if (data.candidate && typeof data.candidate === 'object' && l) {
        if (l.remoteSet) await l.pc.addIceCandidate(data.candidate);
        else if (l.candidates.length < 32) l.candidates.push(data.candidate);
      } else this.stats.garbage++;
    } catch {
      this.stats.garbage++;
    }
  }

  async remoteSet(l) {
    l.remoteSet = true;
    for (const c of l.candidates.splice(0)) await l.pc.addIceCandidate(c).catch(() => undefined);
  }

  drop(id, l) {
    if (this.links.get(id) !== l) return;
    this.links.delete(id);
    clearTimeout(l.timer);
    l.pc.onconnectionstatechange = null;
    if (l.dc) l.dc.onclose = null;
    l.pc.close();
  }

  close() {
    for (const [id, l] of [...this.links]) this.drop(id, l);
  }
}
