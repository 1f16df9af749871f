import { EarliestArrivalScheduler } from './EarliestArrival.js';
import { LowestRttScheduler } from './LowestRtt.js';
import type { Scheduler, SchedulerName } from './Scheduler.js';

export { SCHEDULERS, type Scheduler, type SchedulerName } from './Scheduler.js';
export { EarliestArrivalScheduler } from './EarliestArrival.js';
export { LowestRttScheduler } from './LowestRtt.js';

/** The scheduler a session uses by name; earliest-arrival unless told otherwise. */
export function makeScheduler(name: SchedulerName = 'earliest-arrival'): Scheduler {
  return name === 'lowest-rtt' ? new LowestRttScheduler() : new EarliestArrivalScheduler();
}
