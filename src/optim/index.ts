// tg.optim: optimizers, learning-rate schedules and gradient clipping.
/** The base of every optimizer: parameter groups, step(), zeroGrad(), stateDict() (PyTorch: torch.optim.Optimizer). */
export {
  Optimizer,
  type OptimizerOptions,
  type OptimizerStateDict,
  type ParamGroup,
  type ParamGroupSpec,
  type StepItem,
  type Update,
} from './optimizer.js';
/** PyTorch: torch.optim.SGD. */
export { SGD, type SGDOptions } from './sgd.js';
/** PyTorch: torch.optim.Adam and torch.optim.AdamW. */
export { Adam, AdamW, type AdamOptions } from './adam.js';
/** PyTorch: torch.optim.RMSprop. */
export { RMSprop, type RMSpropOptions } from './rmsprop.js';
/** PyTorch: torch.optim.Adagrad. */
export { Adagrad, type AdagradOptions } from './adagrad.js';
/** PyTorch: torch.optim.Adamax, torch.optim.NAdam and torch.optim.RAdam. */
export { Adamax, NAdam, RAdam, type AdamVariantOptions, type NAdamOptions } from './adam-variants.js';
/** PyTorch: torch.optim.LBFGS. */
export { LBFGS, type LBFGSOptions, type LBFGSClosure } from './lbfgs.js';
/** PyTorch: torch.optim.lr_scheduler.StepLR, CosineAnnealingLR and LinearLR (as a warm-up). */
export { StepLR, CosineAnnealing, LinearWarmup, type Schedule, type LR } from './schedules.js';
/** PyTorch: torch.optim.lr_scheduler.ExponentialLR, MultiStepLR, OneCycleLR and SequentialLR. */
export { ExponentialLR, MultiStepLR, OneCycleLR, SequentialLR, type OneCycleOptions } from './lr-shapes.js';
/** PyTorch: torch.optim.lr_scheduler.ReduceLROnPlateau. */
export { ReduceLROnPlateau, type PlateauOptions, type PlateauState } from './plateau.js';
/** PyTorch: torch.nn.utils.clip_grad_norm_. */
export { clipGradNorm } from './clip.js';
