// tg.nn: modules, initialisers and losses for building and training neural nets.
export { Module, type StateDict } from './module.js';
export {
  Linear,
  Sequential,
  MLP,
  Flatten,
  Dropout,
  LayerNorm,
  ReLU,
  Tanh,
  Sigmoid,
  GELU,
  LeakyReLU,
  Softmax,
  LogSoftmax,
  ELU,
  Softplus,
  SiLU,
  Mish,
  Hardtanh,
  LogSigmoid,
  Softsign,
  SELU,
  Identity,
  type LinearOptions,
  type MLPOptions,
  type ActivationName,
} from './layers.js';
export {
  Conv2d,
  MaxPool2d,
  AvgPool2d,
  type Conv2dLayerOptions,
  Conv1d,
  ConvTranspose2d,
  AdaptiveAvgPool2d,
  Upsample,
  type Conv1dLayerOptions,
  type ConvTranspose2dLayerOptions,
} from './conv.js';
/** PyTorch: torch.nn.RNN, GRU, LSTM and their cells (weights [in, out], as Linear's). */
export {
  RNN,
  GRU,
  LSTM,
  RNNCell,
  GRUCell,
  LSTMCell,
  type RecurrentOptions,
  type RNNOptions,
  type RecurrentCellOptions,
  type RecurrentOutput,
  type LSTMOutput,
  type LSTMState,
  type Nonlinearity,
} from './recurrent.js';
export {
  huberLoss,
  binaryCrossEntropyWithLogits,
  nllLoss,
  binaryCrossEntropy,
  klDiv,
  smoothL1Loss,
  cosineSimilarity,
  marginRankingLoss,
  tripletMarginLoss,
  type NllLossOptions,
  type TripletMarginLossOptions,
  crossEntropy,
  mseLoss,
  l1Loss,
  type CrossEntropyOptions,
  type Reduction,
} from './losses.js';
export { encodeSafetensors, decodeSafetensors } from './safetensors.js';
export * as init from './init.js';
/** PyTorch: torch.nn.Embedding. */
export { Embedding, type EmbeddingOptions } from './embedding.js';
/** PyTorch: torch.nn.BatchNorm1d, BatchNorm2d (channels last), GroupNorm and RMSNorm. */
export { BatchNorm1d, BatchNorm2d, GroupNorm, RMSNorm, type BatchNormOptions } from './norm.js';
/** PyTorch: torch.nn.functional.scaled_dot_product_attention, torch.nn.MultiheadAttention and TransformerEncoderLayer (batch first). */
export {
  scaledDotProductAttention,
  MultiheadAttention,
  TransformerEncoderLayer,
  type AttentionOptions,
  type MultiheadAttentionOptions,
  type MultiheadForwardOptions,
  type TransformerEncoderLayerOptions,
} from './attention.js';
