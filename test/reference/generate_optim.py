"""Writes optim.json: PyTorch's 20-step trajectories of every optimizer and schedule that tg.optim
has, with the same hyper-parameters, for test/reference/optim.test.ts (which needs no torch).

Run with Debian's python3-torch: /usr/bin/python3 test/reference/generate_optim.py
The problem: loss = mean((tanh(x·W + b) − y)²) + 0.01·(ΣW² + Σb²), W [3, 2] ([in, out], tapegrad's
Linear layout), b [2]: a unique minimum, so that rounding differences do not grow without bound.
"""
import math

import torch

from generate_common import entry_per_line, write_json

torch.manual_seed(0)
torch.set_default_dtype(torch.float32)
STEPS = 20

x = torch.randn(4, 3)
y = torch.tanh(x @ torch.randn(3, 2) + torch.randn(2)) * 0.9
W0 = torch.randn(3, 2) * 0.5
b0 = torch.randn(2) * 0.5
L2 = 0.01


def snake(name):
    return ''.join('_' + c.lower() if c.isupper() else c for c in name)


TORCH_CLASS = {'SGD': 'SGD', 'Adam': 'Adam', 'AdamW': 'AdamW', 'RMSprop': 'RMSprop', 'Adagrad': 'Adagrad',
               'Adamax': 'Adamax', 'NAdam': 'NAdam', 'RAdam': 'RAdam', 'LBFGS': 'LBFGS'}


def torch_options(opts):
    out = {}
    for k, v in opts.items():
        if k == 'lineSearchFn':
            out['line_search_fn'] = 'strong_wolfe' if v == 'strongWolfe' else None
        elif k == 'betas':
            out[k] = tuple(v)
        else:
            out[snake(k)] = v
    return out


def loss_fn(W, b):
    return ((torch.tanh(x @ W + b) - y) ** 2).mean() + L2 * ((W ** 2).sum() + (b ** 2).sum())


def run(cls, opts, groups=None, extra=None):
    W = W0.clone().requires_grad_(True)
    b = b0.clone().requires_grad_(True)
    named = {'W': W, 'b': b}
    if groups:
        params = [dict(params=[named[g['param']]], **torch_options({k: v for k, v in g.items() if k != 'param'})) for g in groups]
    else:
        params = [W, b]
    kw = torch_options(opts)
    if extra:
        kw.update(extra)
    opt = getattr(torch.optim, TORCH_CLASS[cls])(params, **kw)
    trajectory, losses = [], []

    def closure():
        opt.zero_grad()
        loss = loss_fn(W, b)
        loss.backward()
        return loss

    for _ in range(STEPS):
        if cls == 'LBFGS':
            loss = opt.step(closure)
        else:
            loss = closure()
            opt.step()
        losses.append(float(loss))
        trajectory.append(W.detach().reshape(-1).tolist() + b.detach().tolist())
    return {'class': cls, 'options': opts, 'groups': groups, 'losses': losses, 'trajectory': trajectory}


OPTIMIZERS = {
    'SGD': ('SGD', {'lr': 0.1}),
    'SGD momentum dampening wd': ('SGD', {'lr': 0.1, 'momentum': 0.9, 'dampening': 0.1, 'weightDecay': 0.01}),
    'SGD nesterov': ('SGD', {'lr': 0.05, 'momentum': 0.8, 'nesterov': True, 'weightDecay': 0.02}),
    'Adam': ('Adam', {'lr': 0.01}),
    'Adam amsgrad wd': ('Adam', {'lr': 0.02, 'betas': [0.8, 0.95], 'eps': 1e-6, 'weightDecay': 0.05, 'amsgrad': True}),
    'AdamW': ('AdamW', {'lr': 0.01, 'weightDecay': 0.1}),
    'AdamW amsgrad': ('AdamW', {'lr': 0.02, 'weightDecay': 0.05, 'amsgrad': True}),
    'RMSprop': ('RMSprop', {'lr': 0.01}),
    'RMSprop centered momentum wd': ('RMSprop', {'lr': 0.005, 'alpha': 0.9, 'centered': True, 'momentum': 0.5, 'weightDecay': 0.01}),
    'Adagrad': ('Adagrad', {'lr': 0.1}),
    'Adagrad decay accumulator wd': ('Adagrad', {'lr': 0.1, 'lrDecay': 0.05, 'initialAccumulatorValue': 0.1, 'weightDecay': 0.01}),
    'Adamax': ('Adamax', {'lr': 0.02}),
    'Adamax wd': ('Adamax', {'lr': 0.02, 'betas': [0.8, 0.99], 'weightDecay': 0.05}),
    'NAdam': ('NAdam', {'lr': 0.02}),
    'NAdam wd momentumDecay': ('NAdam', {'lr': 0.02, 'weightDecay': 0.05, 'momentumDecay': 0.01}),
    'RAdam': ('RAdam', {'lr': 0.02}),
    'RAdam wd betas': ('RAdam', {'lr': 0.02, 'betas': [0.9, 0.9], 'weightDecay': 0.05}),
    'LBFGS': ('LBFGS', {'lr': 0.5, 'maxIter': 3, 'historySize': 4}),
    'LBFGS strong Wolfe': ('LBFGS', {'lr': 1, 'maxIter': 4, 'historySize': 3, 'lineSearchFn': 'strongWolfe'}),
}
# NAdam: PyTorch 1.13's single-tensor path multiplies μₜ into Πₜ₊₁ twice (fixed in 2.0); its
# foreach path has the published formula, which tapegrad follows.
EXTRA = {'NAdam': {'foreach': True}, 'NAdam wd momentumDecay': {'foreach': True}}

GROUPS = {
    'SGD groups': ('SGD', {'lr': 0.1, 'momentum': 0.9}, [{'param': 'W'}, {'param': 'b', 'lr': 0.02, 'momentum': 0.5, 'weightDecay': 0.1}]),
    'Adam groups': ('Adam', {'lr': 0.01}, [{'param': 'W', 'betas': [0.5, 0.9]}, {'param': 'b', 'lr': 0.05, 'amsgrad': True}]),
}


def lr_trajectory(make, steps=STEPS):
    p = torch.zeros(1, requires_grad=True)
    opt = torch.optim.SGD([p], lr=0.1)
    sched = make(opt)
    lrs = []
    for _ in range(steps):
        lrs.append(opt.param_groups[0]['lr'])
        opt.step()
        sched.step()
    return lrs


S = torch.optim.lr_scheduler
SCHEDULES = {
    'StepLR': ({'class': 'StepLR', 'lr': 0.1, 'opts': {'stepSize': 3, 'gamma': 0.5}}, lambda o: S.StepLR(o, 3, 0.5)),
    'ExponentialLR': ({'class': 'ExponentialLR', 'lr': 0.1, 'opts': {'gamma': 0.9}}, lambda o: S.ExponentialLR(o, 0.9)),
    'MultiStepLR': ({'class': 'MultiStepLR', 'lr': 0.1, 'opts': {'milestones': [3, 8, 8, 15], 'gamma': 0.5}}, lambda o: S.MultiStepLR(o, [3, 8, 8, 15], 0.5)),
    'CosineAnnealing': ({'class': 'CosineAnnealing', 'lr': 0.1, 'opts': {'tMax': 20, 'etaMin': 0.01}}, lambda o: S.CosineAnnealingLR(o, 20, 0.01)),
    'LinearWarmup startFactor': ({'class': 'LinearWarmup', 'lr': 0.1, 'opts': {'warmupSteps': 5, 'startFactor': 0.2}}, lambda o: S.LinearLR(o, 0.2, 1.0, 5)),
    'OneCycleLR cos': ({'class': 'OneCycleLR', 'lr': 0.1, 'opts': {'totalSteps': 20}}, lambda o: S.OneCycleLR(o, 0.1, total_steps=20, cycle_momentum=False)),
    'OneCycleLR linear three-phase': ({'class': 'OneCycleLR', 'lr': 0.2, 'opts': {'totalSteps': 20, 'pctStart': 0.25, 'annealStrategy': 'linear', 'divFactor': 10, 'finalDivFactor': 100, 'threePhase': True}},
                                      lambda o: S.OneCycleLR(o, 0.2, total_steps=20, pct_start=0.25, anneal_strategy='linear', div_factor=10, final_div_factor=100, three_phase=True, cycle_momentum=False)),
    'SequentialLR warm-up then exponential': ({'class': 'SequentialLR', 'schedules': [{'class': 'LinearWarmup', 'lr': 0.1, 'opts': {'warmupSteps': 4, 'startFactor': 0.25}}, {'class': 'ExponentialLR', 'lr': 0.1, 'opts': {'gamma': 0.8}}], 'opts': {'milestones': [4]}},
                                              lambda o: S.SequentialLR(o, [S.LinearLR(o, 0.25, 1.0, 4), S.ExponentialLR(o, 0.8)], milestones=[4])),
    'chained ExponentialLR and StepLR': ({'class': 'ExponentialLR', 'lr': {'class': 'StepLR', 'lr': 0.1, 'opts': {'stepSize': 4, 'gamma': 0.5}}, 'opts': {'gamma': 0.95}},
                                         lambda o: S.ChainedScheduler([S.ExponentialLR(o, 0.95), S.StepLR(o, 4, 0.5)])),
}

METRICS = [1.0, 0.9, 0.85, 0.86, 0.86, 0.87, 0.84, 0.84, 0.84, 0.84, 0.839, 0.9, 0.95, 0.5, 0.5, 0.5, 0.5, 0.5, 0.5, 0.5]
PLATEAUS = {
    'ReduceLROnPlateau min rel': {'lr': 0.1, 'opts': {'patience': 2, 'factor': 0.5, 'cooldown': 1}},
    'ReduceLROnPlateau max abs minLr': {'lr': 0.1, 'opts': {'mode': 'max', 'thresholdMode': 'abs', 'threshold': 0.01, 'patience': 1, 'factor': 0.3, 'minLr': 0.005}},
}


def plateau_trajectory(spec):
    p = torch.zeros(1, requires_grad=True)
    opt = torch.optim.SGD([p], lr=spec['lr'])
    sched = S.ReduceLROnPlateau(opt, **torch_options(spec['opts']))
    lrs = []
    for m in METRICS:
        opt.step()
        sched.step(m)
        lrs.append(opt.param_groups[0]['lr'])
    return lrs


def main():
    out = {
        'torch': torch.__version__,
        'problem': {'x': x.tolist(), 'y': y.tolist(), 'W0': W0.tolist(), 'b0': b0.tolist(), 'l2': L2},
        'optimizers': {},
        'schedules': {},
        'plateaus': {},
        'metrics': METRICS,
    }
    for name, (cls, opts) in OPTIMIZERS.items():
        out['optimizers'][name] = run(cls, opts, extra=EXTRA.get(name))
    for name, (cls, opts, groups) in GROUPS.items():
        out['optimizers'][name] = run(cls, opts, groups=groups)
    for name, (spec, make) in SCHEDULES.items():
        out['schedules'][name] = {'spec': spec, 'lrs': lr_trajectory(make)}
    for name, spec in PLATEAUS.items():
        out['plateaus'][name] = {'spec': spec, 'lrs': plateau_trajectory(spec)}
    print('wrote', write_json('optim.json', out, entry_per_line(out, whole=('problem',))))


if __name__ == '__main__':
    main()
