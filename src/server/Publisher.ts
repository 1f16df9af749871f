import type { SenderReport } from '../media/tributary/report.js';
import type { PathStats } from '../transport/api.js';
/**
 * The source of a Stream: an RTMP connection, a transport session, a relay. The protocol
 * handler creates it, hands it to `Stream.publish()`, then calls `stream.pushConfig/pushFrame`.
 */
export interface Publisher {
  readonly id: string;
  /** 'rtmp', 'tributary', 'relay', ... (shown by the API and metrics). */
  readonly protocol: string;
  /** "ip:port" of the peer, for the API. */
  readonly remoteAddress: string;
  /** Transport publishers: the session's paths (several for a bonded sender). */
  paths?(): PathStats[];
  /** Transport publishers: the sender's latest report of its own figures, and when it came (server clock). */
  senderReport?(): { report: SenderReport; at: number } | undefined;
  /**
   * How long since the connection carried anything at all (media, acknowledgements, pings), ms.
   * Given by cluster relays: a relay whose media stopped while its session still talks means the
   * publisher upstream stopped; one that went wholly quiet may be a stalled node, which the
   * main/backup switch gives longer (Stream.checkSilence).
   */
  heardAgoMs?(now: number): number;
  /** Ends the publishing connection (kicked by an operator, or the stream closed). Idempotent. */
  close(reason: string): void;
}
