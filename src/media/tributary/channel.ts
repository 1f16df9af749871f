/**
 * Channels: many relayed streams on one transport session between two cluster nodes. Every
 * message of such a session (a `relay-mux` identity) is one of messages.ts behind a 3-byte
 * header naming the stream it belongs to:
 *
 *   u16 channel (chosen by the session's client, the edge, in its hello) | u8 flags | message
 *   flags bit0 (hello only): the serving node's backup publisher of the stream, not its stream
 *
 * The transport's own streams keep their meaning: control messages of every channel share the
 * session's reliable control stream (ordered, so a channel's hello comes before its end), and
 * each channel's media goes on deadline streams of its own, so one stream's lost reference
 * frame (the transport then waits for a keyframe on that stream) never holds up another's.
 */
import { MediaParseError } from '../frame.js';

export const CHANNEL_HEADER_BYTES = 3;
export const CHANNEL_FLAG_BACKUP = 1;

export function encodeOnChannel(channel: number, message: Uint8Array, flags = 0): Uint8Array {
  if (!Number.isInteger(channel) || channel < 0 || channel > 0xffff) throw new RangeError(`channel ${channel} is not a u16`);
  const out = new Uint8Array(CHANNEL_HEADER_BYTES + message.length);
  out[0] = channel >> 8;
  out[1] = channel & 0xff;
  out[2] = flags & 0xff;
  out.set(message, CHANNEL_HEADER_BYTES);
  return out;
}

/** The channel, flags and message (a view, not a copy) of a channel message; throws MediaParseError when it is too short. */
export function decodeChannel(data: Uint8Array): { channel: number; flags: number; message: Uint8Array } {
  if (data.length <= CHANNEL_HEADER_BYTES) throw new MediaParseError(`channel message of ${data.length} bytes: no room for a message`);
  return { channel: (data[0]! << 8) | data[1]!, flags: data[2]!, message: data.subarray(CHANNEL_HEADER_BYTES) };
}
