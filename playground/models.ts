// The models the page offers, and the optimizers: an MLP of chosen width and depth, and the MNIST
// CNN of examples/mnist.ts (examples/lib/mnist.ts), so that its saved models load here. A model takes a batch as flat rows ([B, features]) and reshapes it to what its first layer
// needs.
import { makeCnn } from '../examples/lib/mnist.js';
import * as tg from '../src/api.js';

export type ModelKind = 'mlp' | 'cnn';
export type OptimizerName = 'adam' | 'adamw' | 'sgd' | 'rmsprop';

export interface ModelSpec {
  kind: ModelKind;
  /** MLP: hidden width and number of hidden layers. */
  width: number;
  depth: number;
  activation: 'relu' | 'tanh';
}

/** A network with what it expects: the input shape of one example, and the number of classes. */
export interface Model {
  net: tg.nn.Module;
  spec: ModelSpec;
  features: number;
  classes: number;
  /** The logits of rows of examples ([B, features]). */
  forward(rows: tg.Tensor): tg.Tensor;
  describe(): string;
}

export function makeModel(spec: ModelSpec, features: number, classes: number, seed = 1): Model {
  if (spec.kind === 'cnn') {
    if (features !== 784) throw new Error('the CNN takes 28×28 digits: choose MNIST, or the MLP');
    const net = makeCnn(seed);
    return {
      net,
      spec,
      features,
      classes,
      forward: (rows) => net.forward(rows.reshape([-1, 28, 28, 1])),
      describe: () => `CNN (2 conv blocks), ${net.numParameters().toLocaleString('en')} parameters`,
    };
  }
  const sizes = [features, ...Array(spec.depth).fill(spec.width), classes];
  const net = new tg.nn.MLP(sizes, { activation: spec.activation, seed });
  return {
    net,
    spec,
    features,
    classes,
    forward: (rows) => net.forward(rows),
    describe: () =>
      `MLP [${sizes.join(', ')}], ${spec.activation}, ${net.numParameters().toLocaleString('en')} parameters`,
  };
}

export function makeOptimizer(name: OptimizerName, params: tg.Tensor[], lr: number): tg.optim.Optimizer {
  switch (name) {
    case 'adam':
      return new tg.optim.Adam(params, { lr });
    case 'adamw':
      return new tg.optim.AdamW(params, { lr });
    case 'sgd':
      return new tg.optim.SGD(params, { lr, momentum: 0.9 });
    case 'rmsprop':
      return new tg.optim.RMSprop(params, { lr });
  }
}
