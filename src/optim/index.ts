// tg.optim: optimizers, learning-rate schedules and gradient clipping.
export { Optimizer, type OptimizerOptions } from './optimizer.js';
export { SGD, type SGDOptions } from './sgd.js';
export { Adam, AdamW, type AdamOptions } from './adam.js';
export { RMSprop, type RMSpropOptions } from './rmsprop.js';
export { StepLR, CosineAnnealing, LinearWarmup, type Schedule, type LR } from './schedules.js';
export { clipGradNorm } from './clip.js';
