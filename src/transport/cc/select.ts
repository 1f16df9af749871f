/**
 * Controllers by name, for a session option or a bench flag. 'delay' is the delay/loss
 * controller the session builds by default (undefined here: the session keeps its own
 * per-mode settings for it); 'capacity' follows the delivered rate (CapacityController).
 */
import { CapacityController } from './CapacityController.js';
import type { SendAlgorithm } from './SendAlgorithm.js';

export type CcName = 'delay' | 'capacity';
export const CC_NAMES: readonly CcName[] = ['delay', 'capacity'];

export interface CcBounds {
  initialBps?: number;
  minBps?: number;
  maxBps?: number;
}

/** A factory of one controller per path, or undefined for the session's default. */
export function ccFactory(name: CcName, b: CcBounds = {}): (() => SendAlgorithm) | undefined {
  if (name === 'capacity') return () => new CapacityController(b);
  return undefined;
}
