/**
 * Which node a viewer of app/key should play from, from the cached view alone (pure: no etcd,
 * no I/O; GET /api/route and `?route=1` call it per request):
 *   0. not the node the viewer just lost (`avoid`), when there is another: a node killed stays
 *      in the view until its lease runs out (~2 s), and a viewer coming back should not spend
 *      that time on it; another region's live node beats its own region's dead one;
 *   1. nodes of the viewer's region, when there are any (else every node);
 *   2. among those, nodes under the stress threshold (CPU), when there are any;
 *   3. among those, nodes that already carry the stream (its owner, or an edge relaying it),
 *      so a viewer does not open a new relay while an existing one has room;
 *   4. then the fewest viewers; ties by node id, so answers are stable.
 */
import type { NodeRecord } from './keys.js';
import type { Owner } from './ClusterView.js';

export interface RouteChoice {
  node: NodeRecord;
  owner: string;
}

export function chooseNode(nodes: Iterable<NodeRecord>, owner: Owner | undefined, path: string, region: string | undefined, stressCpu: number, avoid?: string): RouteChoice | { error: string; status: number } {
  if (!owner) return { status: 404, error: `stream ${path} is not live in the cluster` };
  let c = [...nodes];
  if (c.length === 0) return { status: 503, error: 'no cluster node is registered (etcd unreachable since this node started?)' };
  const others = avoid === undefined ? [] : c.filter((n) => n.id !== avoid);
  if (others.length > 0) c = others;
  const inRegion = region === undefined ? [] : c.filter((n) => n.region === region);
  if (inRegion.length > 0) c = inRegion;
  const calm = c.filter((n) => n.load.cpu < stressCpu);
  if (calm.length > 0) c = calm;
  const carrying = c.filter((n) => n.id === owner.node || n.carrying.includes(path));
  if (carrying.length > 0) c = carrying;
  c.sort((a, b) => a.load.viewers - b.load.viewers || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  return { node: c[0]!, owner: owner.node };
}
