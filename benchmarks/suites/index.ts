// Every suite, in the order they run.
import type { Suite } from '../harness.js';
import { mlp } from './mlp.js';
import { matmul } from './matmul.js';
import { chain } from './chain.js';
import { linalg } from './linalg.js';
import { gradcheck } from './gradcheck.js';
import { cpu } from './cpu.js';
import { workloads } from './workloads.js';

export const SUITES: Suite[] = [mlp, matmul, chain, linalg, gradcheck, cpu, workloads];
