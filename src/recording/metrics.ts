import { Counter, Gauge, type Registry as PromRegistry } from 'prom-client';
import type { Recorder } from './Recorder.js';

/** The recorder's figures on a server's prom-client registry, read at scrape time. */
export function addRecordingMetrics(prom: PromRegistry, recorder: Recorder): void {
  const registers = [prom];
  new Counter({
    name: 'tributary_recording_dropped_total', help: 'Frames left out of recordings because the disk fell behind (dropped to the next keyframe)', registers,
    collect() {
      this.reset();
      this.inc(recorder.droppedTotal);
    },
  });
  new Counter({
    name: 'tributary_recording_errors_total', help: 'Recordings that could not start or stopped on a disk error', registers,
    collect() {
      this.reset();
      this.inc(recorder.errors);
    },
  });
  new Gauge({
    name: 'tributary_recordings', help: 'Streams being recorded', registers,
    collect() {
      this.set(recorder.active.size);
    },
  });
}
