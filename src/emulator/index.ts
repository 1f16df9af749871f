export { Prng } from './Prng.js';
export { type Trace, TraceError, loadTrace, parseTrace, traceMeanBps, resolveTracePath, tracesDir, TRACE_PACKET_BYTES } from './Trace.js';
export { type Bottleneck, type Cursor, RateBottleneck, TraceBottleneck } from './Bottleneck.js';
export { type LinkConfig, type LinkStats } from './LinkConfig.js';
export { LossModel } from './LossModel.js';
export { EventQueue } from './EventQueue.js';
export { LinkModel } from './LinkModel.js';
export { UdpLinkProxy, type UdpLinkProxyOptions } from './UdpLinkProxy.js';
