/**
 * Stream ownership: the node where a stream's publisher is takes `tributary/streams/APP/KEY`,
 * bound to its lease. The key's mod revision is the fencing token: every relay welcome carries
 * it and an edge ignores a token older than the newest it has seen.
 *
 * claim(): create-if-absent in one transaction; if another node holds the key, the publisher has
 * moved here (a reconnect to another address), so the key is taken over with a compare-and-swap
 * on the revision that was read (two nodes racing: one wins, the other reads again and wins
 * next, so the last publisher to arrive ends as owner). A node that sees, through the watch, that
 * a key it held is now someone else's stops acting as owner at once (ownerToken goes undefined).
 */
import type { Etcd3 } from 'etcd3';
import type { Logger } from '../server/log.js';
import type { ClusterView } from './ClusterView.js';
import { parseOwnerRecord, streamKey } from './keys.js';
import type { Membership } from './Membership.js';

export class Ownership {
  /** Streams this node owns, with the token its claim got. */
  private readonly mine = new Map<string, number>();
  claims = 0;
  takeovers = 0;
  /** Claims whose lease was given up while their transaction was in flight: made again. */
  staleLeaseClaims = 0;
  /** Owned keys that vanished from etcd while this node held them (their lease ended): claimed again. */
  keysLost = 0;
  /** A key this node held is gone from etcd while it still thought it owned it (set by ClusterNode). */
  onLost: (path: string) => void = () => undefined;

  constructor(
    private readonly client: Etcd3,
    private readonly membership: Membership,
    private readonly view: ClusterView,
    private readonly nodeId: string,
    private readonly log: Logger,
  ) {
    view.on('owner', (path, owner) => {
      const token = this.mine.get(path);
      if (token === undefined) return;
      if (!owner) {
        // Deleted under us: the lease it was bound to ended (release() forgets before it deletes).
        this.mine.delete(path);
        this.keysLost++;
        this.log.warn({ stream: path, token }, 'cluster: owned key gone from etcd; claiming again');
        this.onLost(path);
        return;
      }
      if (owner.node !== this.nodeId && owner.token > token) {
        this.mine.delete(path);
        this.log.info({ stream: path, owner: owner.node, token: owner.token }, 'cluster: ownership moved away');
      }
    });
  }

  /** The token this node holds for app/key, or undefined when it is not (or no longer) the owner. */
  token(app: string, key: string): number | undefined {
    const path = `${app}/${key}`;
    const t = this.mine.get(path);
    // Fenced: a newer token seen in the watch means someone else took it after us.
    if (t === undefined || this.view.newestToken(path) > t) return undefined;
    return t;
  }

  owned(): string[] {
    return [...this.mine.keys()];
  }

  /** Takes ownership of app/key for this node; resolves with the fencing token. */
  async claim(app: string, key: string): Promise<number> {
    const k = streamKey(app, key);
    const value = JSON.stringify({ node: this.nodeId });
    // One round trip when the view is current: take the key over from the owner the watch says
    // holds it (compare-and-swap on its revision). Otherwise (or if it changed meanwhile) the loop.
    const known = this.view.owners.get(`${app}/${key}`);
    const generation = this.membership.generation;
    if (known) {
      const lease = await this.membership.currentLease();
      const swap = await this.client.if(k, 'Mod', '==', known.token).then(this.client.put(k).value(value).lease(lease)).commit();
      if (swap.succeeded) {
        if (known.node !== this.nodeId) this.takeovers++;
        return this.took(app, key, Number(swap.header.revision), generation);
      }
    }
    for (let attempt = 0; attempt < 10; attempt++) {
      const generation = this.membership.generation;
      const lease = await this.membership.currentLease();
      const r = await this.client.if(k, 'Create', '==', 0).then(this.client.put(k).value(value).lease(lease)).else(this.client.get(k)).commit();
      let token: number | undefined;
      if (r.succeeded) token = Number(r.header.revision);
      else {
        const kv = r.responses[0]?.response_range?.kvs[0];
        if (!kv) continue; // gone between the compare and the read: try the create again
        const held = parseOwnerRecord(kv.value.toString());
        const swap = await this.client.if(k, 'Mod', '==', Number(kv.mod_revision)).then(this.client.put(k).value(value).lease(lease)).commit();
        if (!swap.succeeded) continue;
        token = Number(swap.header.revision);
        if (held?.node !== this.nodeId) this.takeovers++;
      }
      return this.took(app, key, token, generation);
    }
    throw new Error(`cluster: could not take ownership of ${app}/${key} (10 tries lost to other nodes)`);
  }

  private took(app: string, key: string, token: number, generation: number): number {
    // The transaction waited on a silent etcd while this node gave its lease up and got a new one
    // (found by the etcd black-hole test in CI: the claim landed under the dead lease after the
    // re-claims had run, and the stream stayed unowned). The caller's loop claims again.
    if (this.membership.generation !== generation) {
      this.staleLeaseClaims++;
      throw new Error(`cluster: the lease changed while claiming ${app}/${key}`);
    }
    this.claims++;
    this.mine.set(`${app}/${key}`, token);
    this.log.info({ stream: `${app}/${key}`, token }, 'cluster: owner');
    return token;
  }

  /** Gives ownership up (the stream ended here), only if this node still holds the same token. */
  async release(app: string, key: string): Promise<void> {
    const path = `${app}/${key}`;
    const token = this.mine.get(path);
    if (token === undefined) return;
    this.mine.delete(path);
    await this.client.if(streamKey(app, key), 'Mod', '==', token).then(this.client.delete().key(streamKey(app, key))).commit();
  }

  /**
   * A new lease: every stream key bound to the old one is gone from etcd. Forgets them and says
   * which they were, so the caller claims each again with its retrying loop (a one-shot re-claim
   * here failed while the client's circuit breaker was still open after an outage, and the
   * stream was left unowned for good: found by the etcd black-hole test in CI).
   */
  forgetAll(): string[] {
    const paths = [...this.mine.keys()];
    this.mine.clear();
    return paths;
  }
}
