import { Command } from 'commander';
import { registerBench } from '../../cli/bench.js';

// Standalone entry until the CLI's main wires registerBench:
//   node --import tsx src/bench/transport/main.ts transport --rate 2 --rtt 300 ...
const program = new Command('tributary');
const bench = registerBench(program);
await program.parseAsync(['node', 'tributary', 'bench', ...process.argv.slice(2)]);
void bench;
