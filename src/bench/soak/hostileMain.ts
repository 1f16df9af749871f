/**
 * The soak's hostile clients in a process of their own, as an attacker is: started by run.ts
 * with the target as JSON in argv[2]; on SIGTERM it prints its counts as one JSON line and exits.
 * In the load generator's own process the chunk-size-1 pump starved the generator's viewers,
 * which the server then rightly took for slow readers.
 */
import { HostileClients, type HostileTarget } from './hostile.js';

const target = JSON.parse(process.argv[2] ?? '{}') as HostileTarget;
const h = new HostileClients(target);
h.start();
process.on('SIGTERM', () => {
  h.stop();
  process.stdout.write(JSON.stringify(h.counts) + '\n', () => process.exit(0));
});
