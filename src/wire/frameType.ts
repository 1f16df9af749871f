/** Frame type codes: the first byte of every frame inside a PROTECTED packet. */
export const FrameType = {
  PADDING: 0x00,
  PING: 0x01,
  ACK: 0x02,
  NACK: 0x03,
  /** 0x80-0xff: DATA, the low 7 bits its flags (data.ts). 0x04 is unused since version 3. */
  DATA: 0x80,
  FEC_REPAIR: 0x05,
  STREAM_OPEN: 0x06,
  MTU_PROBE: 0x07,
  MTU_PROBE_ACK: 0x08,
  CLOSE: 0x09,
  PATH_CHALLENGE: 0x0a,
  PATH_RESPONSE: 0x0b,
  FEEDBACK: 0x0c,
  FINISHED: 0x0d,
  LOST: 0x0e,
} as const;
