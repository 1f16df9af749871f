/** The I/O shells: run the sans-IO transport core over UDP sockets and the TCP fallback. */
export { ConnectRefusedError, TransportClient, type ConnectOptions } from './TransportClient.js';
export { TransportServer, type ServerListenOptions, type SessionSource } from './TransportServer.js';
export { TransportSession, type ReceivedMessage, type FrameToSend, type TransportSessionEvents } from './TransportSession.js';
export { Driver, type DriverOptions } from './Driver.js';
export { FrameDecoder, FrameTooLargeError, encodeFrame } from './Framing.js';
export type { NetLogger } from './udp.js';
