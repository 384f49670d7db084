"""Writes nn-recurrent.json: PyTorch's outputs, final states and gradients of RNN (tanh, relu), GRU,
LSTM and their cells for fixed weights and inputs, translated to tapegrad's layout (weights [in, out],
the transpose of PyTorch's [gates·H, in]; names in camelCase: weight_ih_l0 → weightIh_l0), for
test/reference/nn-recurrent.test.ts (which needs no torch). Each case: the options, the inputs,
the parameters by tapegrad's state-dict names, every returned tensor, a fixed R per returned
tensor, and the gradients of Σ returned·R with respect to the float inputs and every parameter.

Run with Debian's python3-torch: /usr/bin/python3 test/reference/generate_nn_recurrent.py
"""
import re

import torch
import torch.nn as nn

from generate_common import lists as lst, write_json

torch.manual_seed(0)


def tg_name(name):
    """weight_ih_l0_reverse → weightIh_l0_reverse; bias_hh → biasHh"""
    m = re.match(r'(weight|bias)_(ih|hh)(.*)', name)
    return m.group(1) + m.group(2).capitalize() + m.group(3)


def tg_layout(name, t):
    return t.t() if name.startswith('weight') else t


def case(module, options, inputs, run):
    """inputs: {name: tensor}; run(module, inputs) → {name: returned tensor} (tapegrad's names)."""
    leaves = {k: v.clone().requires_grad_(True) for k, v in inputs.items()}
    outs = run(module, leaves)
    Rs = {k: torch.randn(v.shape) for k, v in outs.items()}
    sum((v * Rs[k]).sum() for k, v in outs.items()).backward()
    named = list(module.named_parameters())
    return {
        'options': options,
        'inputs': {k: lst(v) for k, v in inputs.items()},
        'params': {tg_name(n): lst(tg_layout(n, p)) for n, p in named},
        'outputs': {k: lst(v) for k, v in outs.items()},
        'R': {k: lst(v) for k, v in Rs.items()},
        'grads': {**{'input.' + k: lst(v.grad) for k, v in leaves.items()},
                  **{tg_name(n): lst(tg_layout(n, p.grad)) for n, p in named}},
    }


KINDS = {'RNN': nn.RNN, 'GRU': nn.GRU, 'LSTM': nn.LSTM}


def sequence(kind, I, H, T, B, state, **opts):
    """A sequence layer; B None for an unbatched input; state: give the initial state(s)."""
    torch_opts = {'num_layers': opts.get('numLayers', 1), 'batch_first': opts.get('batchFirst', False),
                  'bidirectional': opts.get('bidirectional', False), 'bias': opts.get('bias', True)}
    if 'nonlinearity' in opts:
        torch_opts['nonlinearity'] = opts['nonlinearity']
    m = KINDS[kind](I, H, **torch_opts)
    LD = torch_opts['num_layers'] * (2 if torch_opts['bidirectional'] else 1)
    if B is None:
        x, sshape = torch.randn(T, I), (LD, H)
    else:
        x = torch.randn(B, T, I) if torch_opts['batch_first'] else torch.randn(T, B, I)
        sshape = (LD, B, H)
    inputs = {'x': x}
    if state:
        inputs['h0'] = torch.randn(*sshape) * 0.5
        if kind == 'LSTM':
            inputs['c0'] = torch.randn(*sshape) * 0.5

    def run(m, i):
        if kind == 'LSTM':
            out, (h, c) = m(i['x'], (i['h0'], i['c0'])) if state else m(i['x'])
            return {'output': out, 'hN': h, 'cN': c}
        out, h = m(i['x'], i['h0']) if state else m(i['x'])
        return {'output': out, 'hN': h}

    return case(m, {'kind': kind, 'inputSize': I, 'hiddenSize': H, **opts}, inputs, run)


CELLS = {'RNNCell': nn.RNNCell, 'GRUCell': nn.GRUCell, 'LSTMCell': nn.LSTMCell}


def cell(kind, I, H, B, state, **opts):
    m = CELLS[kind](I, H, **({'nonlinearity': opts['nonlinearity']} if 'nonlinearity' in opts else {}),
                    bias=opts.get('bias', True))
    shape = (H,) if B is None else (B, H)
    inputs = {'x': torch.randn(*((I,) if B is None else (B, I)))}
    if state:
        inputs['h0'] = torch.randn(*shape) * 0.5
        if kind == 'LSTMCell':
            inputs['c0'] = torch.randn(*shape) * 0.5

    def run(m, i):
        if kind == 'LSTMCell':
            h, c = m(i['x'], (i['h0'], i['c0'])) if state else m(i['x'])
            return {'h': h, 'c': c}
        return {'h': m(i['x'], i['h0']) if state else m(i['x'])}

    return case(m, {'kind': kind, 'inputSize': I, 'hiddenSize': H, **opts}, inputs, run)


cases = {
    'RNN tanh numLayers 2 bidirectional': sequence('RNN', 3, 4, 5, 2, True, numLayers=2, bidirectional=True),
    'RNN relu numLayers 2 batchFirst': sequence('RNN', 3, 4, 5, 2, False, numLayers=2, batchFirst=True,
                                                nonlinearity='relu'),
    'RNN relu unbatched bidirectional': sequence('RNN', 3, 4, 4, None, True, bidirectional=True, nonlinearity='relu'),
    'GRU numLayers 2 bidirectional batchFirst': sequence('GRU', 3, 4, 5, 2, True, numLayers=2, bidirectional=True,
                                                         batchFirst=True),
    'GRU no bias unbatched': sequence('GRU', 3, 4, 4, None, False, bias=False),
    'LSTM numLayers 2 bidirectional': sequence('LSTM', 3, 4, 5, 2, True, numLayers=2, bidirectional=True),
    'LSTM numLayers 2 batchFirst': sequence('LSTM', 3, 4, 5, 3, False, numLayers=2, batchFirst=True),
    'LSTM unbatched no bias': sequence('LSTM', 3, 4, 4, None, True, bias=False),
    'RNNCell tanh': cell('RNNCell', 3, 4, 2, True),
    'RNNCell relu unbatched': cell('RNNCell', 3, 4, None, True, nonlinearity='relu'),
    'GRUCell': cell('GRUCell', 3, 4, 2, True),
    'GRUCell zero state': cell('GRUCell', 3, 4, 2, False),
    'LSTMCell': cell('LSTMCell', 3, 4, 2, True),
    'LSTMCell unbatched zero state': cell('LSTMCell', 3, 4, None, False),
}

print(f'wrote {len(cases)} cases to {write_json("nn-recurrent.json", {"torch": torch.__version__, "cases": cases})}')
