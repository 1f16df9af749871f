/** The media framing over the transport (frames, configs, metadata and the session hello). */
export * from './messages.js';
export * from './report.js';
export { FRAMING_VERSION } from './codes.js';
export * from './session.js';
export * from './channel.js';
