import { MediaParseError, type DemuxOutput } from '../frame.js';
import { Amf0EcmaArray, decodeAmf0, encodeAmf0 } from '../amf0.js';

/**
 * FLV script-data tag bodies (FLV tag type 18, RTMP data message type 18): AMF0 values,
 * "onMetaData" followed by an ECMA array of stream properties. RTMP publishers wrap it as
 * "@setDataFrame", "onMetaData", {...}; both forms give one metadata output.
 */
export function parseScriptTag(body: Uint8Array, timestampMs: number): DemuxOutput[] {
  const values = decodeAmf0(body);
  let i = 0;
  if (values[i] === '@setDataFrame') i++;
  const name = values[i];
  if (typeof name !== 'string') throw new MediaParseError('script tag does not start with a name');
  if (name === 'onMetaData') {
    const props = values[i + 1];
    if (props === null || typeof props !== 'object' || Array.isArray(props)) {
      throw new MediaParseError('onMetaData without an object');
    }
    return [{ type: 'metadata', values: { ...(props as Record<string, unknown>) } }];
  }
  // Other script data (cue points, captions) passes through as an opaque data frame.
  const data = new Uint8Array(body);
  return [{ type: 'frame', frame: { kind: 'data', codec: 'amf0', dts: timestampMs, pts: timestampMs, keyframe: true, reference: true, data } }];
}

/** "onMetaData" + an ECMA array, as players expect it in the first FLV tag. */
export function buildMetadataBody(values: Record<string, unknown>): Uint8Array {
  return encodeAmf0('onMetaData', new Amf0EcmaArray(values));
}
