/**
 * FLV audio/video tag bodies: what FLV tags contain and RTMP messages 8 and 9 carry.
 * parse*: body + tag timestamp (ms) -> DemuxOutput[]; throws MediaParseError on malformed input.
 * build*: frame/config -> body. The write*Header/ *HeaderLength pairs let a muxer write a whole
 * tag into one buffer without an intermediate body copy.
 */
export {
  parseVideoTag, buildVideoTag, buildVideoConfigTag,
  videoBodyHeaderLength, writeVideoBodyHeader, videoConfigBodyHeaderLength, writeVideoConfigBodyHeader,
} from './videoTagBody.js';
export {
  parseAudioTag, buildAudioTag, buildAudioConfigTag,
  audioBodyHeaderLength, writeAudioBodyHeader, audioConfigBodyHeaderLength, writeAudioConfigBodyHeader,
} from './audioTagBody.js';
