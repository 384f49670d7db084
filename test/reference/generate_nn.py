"""Writes nn.json: PyTorch's outputs and gradients of the layers tg.nn has, for fixed weights and
inputs, translated to tapegrad's layouts (Linear weights [in, out], channels last, batch first),
for test/reference/nn.test.ts (which needs no torch). Each case: the parameters by tapegrad's
state-dict names, the inputs, the output, and the gradients of sum(output · R) for a fixed R with
respect to the float inputs and every parameter.

Run with Debian's python3-torch: /usr/bin/python3 test/reference/generate_nn.py
"""
import math

import torch
import torch.nn as nn

from generate_common import entry_per_line, ident, layer_case as case, lists as lst, to_first, to_last, write_json

torch.manual_seed(0)

T = lambda t: t.t()




def embedding():
    m = nn.Embedding(10, 4, padding_idx=1)
    idx = torch.tensor([[1, 3, 5], [7, 1, 1]])
    return case({'x': idx}, lambda i: m(i['x']), {'weight': (m.weight, ident)}, {'options': {'num': 10, 'dim': 4, 'paddingIdx': 1}})


def batchnorm(dim, shape, momentum=0.1):
    m = (nn.BatchNorm1d if dim == 1 else nn.BatchNorm2d)(3, momentum=momentum)
    with torch.no_grad():
        m.weight.copy_(torch.rand(3) + 0.5)
        m.bias.copy_(torch.randn(3))
    x = torch.randn(shape) * 2 + 1
    m.train()
    # a first batch moves the running statistics; the case is the second
    with torch.no_grad():
        m(to_first(torch.randn(shape)) if len(shape) > 2 else torch.randn(shape))
    first = lambda t: to_first(t) if len(shape) > 2 else t
    last = lambda t: to_last(t) if len(shape) > 2 else t
    before = {'runningMean': lst(m.running_mean), 'runningVar': lst(m.running_var), 'numBatchesTracked': int(m.num_batches_tracked)}
    c = case({'x': x}, lambda i: last(m(first(i['x']))), {'weight': (m.weight, ident), 'bias': (m.bias, ident)})
    c['runningBefore'] = before
    m.eval()
    x2 = torch.randn(shape)
    c['running'] = {'runningMean': lst(m.running_mean), 'runningVar': lst(m.running_var), 'numBatchesTracked': int(m.num_batches_tracked)}
    c['eval'] = {'x': lst(x2), 'output': lst(last(m(first(x2))))}
    c['options'] = {'momentum': momentum}
    return c


def groupnorm():
    m = nn.GroupNorm(2, 4)
    with torch.no_grad():
        m.weight.copy_(torch.rand(4) + 0.5)
        m.bias.copy_(torch.randn(4))
    x = torch.randn(2, 3, 3, 4)
    return case({'x': x}, lambda i: to_last(m(to_first(i['x']))), {'weight': (m.weight, ident), 'bias': (m.bias, ident)})


def rmsnorm():
    w = (torch.rand(4) + 0.5).requires_grad_(True)
    eps = torch.finfo(torch.float32).eps
    x = torch.randn(2, 3, 4)
    return case({'x': x}, lambda i: i['x'] * torch.rsqrt(i['x'].pow(2).mean(-1, keepdim=True) + eps) * w, {'weight': (w, ident)})


def sdpa(mask_kind):
    L, S = (5, 5) if mask_kind == 'causal' else (5, 6)
    q, k, v = torch.randn(2, 3, L, 4), torch.randn(2, 3, S, 4), torch.randn(2, 3, S, 3)
    inputs = {'q': q, 'k': k, 'v': v}
    if mask_kind == 'bool':
        mask = torch.rand(L, S) > 0.3
        mask[:, 0] = True
        inputs['mask'] = mask
    if mask_kind == 'float':
        inputs['mask'] = torch.randn(2, 1, L, S)

    def f(i):
        scores = i['q'] @ i['k'].transpose(-1, -2) / math.sqrt(4)
        if mask_kind == 'bool':
            scores = scores.masked_fill(~i['mask'], float('-inf'))
        if mask_kind == 'float':
            scores = scores + i['mask']
        if mask_kind == 'causal':
            scores = scores.masked_fill(~torch.ones(L, S, dtype=torch.bool).tril(), float('-inf'))
        return torch.softmax(scores, -1) @ i['v']
    return case(inputs, f, {}, {'options': {'isCausal': mask_kind == 'causal'}})


def mha_params(m, prefix=''):
    return {
        prefix + 'inProjWeight': (m.in_proj_weight, T), prefix + 'inProjBias': (m.in_proj_bias, ident),
        prefix + 'outProj.weight': (m.out_proj.weight, T), prefix + 'outProj.bias': (m.out_proj.bias, ident),
    }


def mha(masks, float_mask=False):
    m = nn.MultiheadAttention(8, 2, batch_first=True)
    with torch.no_grad():
        m.in_proj_bias.copy_(torch.randn(24) * 0.1)
        m.out_proj.bias.copy_(torch.randn(8) * 0.1)
    q, k, v = torch.randn(2, 5, 8), torch.randn(2, 6, 8), torch.randn(2, 6, 8)
    inputs = {'query': q, 'key': k, 'value': v}
    if masks:
        kpm = torch.zeros(2, 6, dtype=torch.bool)
        kpm[0, 4:] = True
        kpm[1, 5] = True
        am = torch.zeros(5, 6, dtype=torch.bool)
        am[0, 1] = True
        am[3, 0] = True
        inputs['keyPaddingMask'] = kpm
        inputs['attnMask'] = am
    if float_mask:
        inputs['attnMask'] = torch.randn(5, 6)
    weights = {}

    def f(i):
        out, w = m(i['query'], i['key'], i['value'], key_padding_mask=i.get('keyPaddingMask'), attn_mask=i.get('attnMask'), need_weights=True)
        weights['w'] = w
        return out
    c = case(inputs, f, mha_params(m))
    c['weights'] = lst(weights['w'])
    return c


def encoder(norm_first, activation, masks):
    m = nn.TransformerEncoderLayer(8, 2, dim_feedforward=16, dropout=0.0, activation=activation, batch_first=True, norm_first=norm_first)
    with torch.no_grad():
        for name, p in m.named_parameters():
            if name.endswith('bias') or name.startswith('norm'):
                p.copy_(torch.randn(p.shape) * 0.2 + (1.0 if name.startswith('norm') and name.endswith('weight') else 0.0))
    m.train()  # dropout 0: train mode keeps PyTorch off its fused fast path
    x = torch.randn(2, 5, 8)
    inputs = {'x': x}
    if masks:
        kpm = torch.zeros(2, 5, dtype=torch.bool)
        kpm[1, 3:] = True
        inputs['srcKeyPaddingMask'] = kpm
    params = mha_params(m.self_attn, 'selfAttn.')
    params.update({
        'linear1.weight': (m.linear1.weight, T), 'linear1.bias': (m.linear1.bias, ident),
        'linear2.weight': (m.linear2.weight, T), 'linear2.bias': (m.linear2.bias, ident),
        'norm1.weight': (m.norm1.weight, ident), 'norm1.bias': (m.norm1.bias, ident),
        'norm2.weight': (m.norm2.weight, ident), 'norm2.bias': (m.norm2.bias, ident),
    })
    c = case(inputs, lambda i: m(i['x'], src_key_padding_mask=i.get('srcKeyPaddingMask')), params)
    c['options'] = {'normFirst': norm_first, 'activation': activation}
    return c


F = torch.nn.functional


def loss_case(inputs, forward, options):
    """A loss or distance: forward(inputs) with PyTorch's keywords; options as tapegrad spells them."""
    return case(inputs, forward, {}, {'options': options})


def nll(weight, ignore, reduction):
    x = torch.log_softmax(torch.randn(6, 4), -1)
    y = torch.tensor([0, 3, 2, 1, 2, 3])
    w = torch.rand(4) + 0.5 if weight else None
    opts = {'reduction': reduction, 'weight': lst(w) if weight else None, 'ignoreIndex': ignore}
    kw = {'weight': w, 'reduction': reduction}
    if ignore is not None:
        kw['ignore_index'] = ignore
    return loss_case({'x': x, 'y': y}, lambda i: F.nll_loss(i['x'], i['y'], **kw), opts)


def bce(weight, reduction):
    p = torch.rand(3, 4) * 0.9 + 0.05
    t = torch.rand(3, 4)
    w = torch.rand(4) + 0.5 if weight else None
    return loss_case({'x': p, 'y': t}, lambda i: F.binary_cross_entropy(i['x'], i['y'], weight=w, reduction=reduction),
                     {'reduction': reduction, 'weight': lst(w) if weight else None})


def kl(log_target, reduction, zeros=False):
    x = torch.log_softmax(torch.randn(3, 5), -1)
    t = torch.softmax(torch.randn(3, 5) * 2, -1)
    if zeros:
        t[0, 1] = 0.0
        t[2, 4] = 0.0
    if log_target:
        t = torch.log(t)
    c = loss_case({'x': x, 'y': t},
                  lambda i: F.kl_div(i['x'], i['y'], reduction=reduction, log_target=log_target),
                  {'reduction': reduction, 'logTarget': log_target})
    if zeros:
        c['grads'].pop('input.y')  # PyTorch's d/dt of t log t at t = 0 is NaN; tapegrad's is finite
    return c


def smooth_l1(beta, reduction):
    x, y = torch.randn(3, 4) * 1.5, torch.randn(3, 4)
    return loss_case({'x': x, 'y': y}, lambda i: F.smooth_l1_loss(i['x'], i['y'], beta=beta, reduction=reduction),
                     {'beta': beta, 'reduction': reduction})


def cosine(sa, sb, axis):
    a, b = torch.randn(sa), torch.randn(sb)
    return loss_case({'x': a, 'y': b}, lambda i: F.cosine_similarity(i['x'], i['y'], dim=axis), {'axis': axis})


def ranking(margin, reduction):
    x1, x2 = torch.randn(7), torch.randn(7)
    y = torch.tensor([1.0, -1, 1, 1, -1, -1, 1])
    return loss_case({'x': x1, 'x2': x2, 'y': y},
                     lambda i: F.margin_ranking_loss(i['x'], i['x2'], i['y'], margin=margin, reduction=reduction),
                     {'margin': margin, 'reduction': reduction})


def triplet(margin, p, swap, reduction):
    a, pos, neg = torch.randn(5, 4), torch.randn(5, 4), torch.randn(5, 4)
    return loss_case({'x': a, 'pos': pos, 'neg': neg},
                     lambda i: F.triplet_margin_loss(i['x'], i['pos'], i['neg'], margin=margin, p=p, swap=swap,
                                                     reduction=reduction),
                     {'margin': margin, 'p': p, 'swap': swap, 'reduction': reduction})


def main():
    cases = {
        'Embedding paddingIdx': embedding(),
        'BatchNorm1d [N, C]': batchnorm(1, (6, 3)),
        'BatchNorm1d [N, L, C]': batchnorm(1, (2, 4, 3)),
        'BatchNorm2d NHWC': batchnorm(2, (2, 4, 4, 3)),
        'BatchNorm2d momentum null': batchnorm(2, (2, 3, 3, 3), momentum=None),
        'GroupNorm': groupnorm(),
        'RMSNorm': rmsnorm(),
        'scaledDotProductAttention': sdpa(None),
        'scaledDotProductAttention bool mask': sdpa('bool'),
        'scaledDotProductAttention float mask': sdpa('float'),
        'scaledDotProductAttention causal': sdpa('causal'),
        'MultiheadAttention': mha(False),
        'MultiheadAttention masks': mha(True),
        'MultiheadAttention float mask': mha(False, float_mask=True),
        'TransformerEncoderLayer post-norm relu': encoder(False, 'relu', False),
        'TransformerEncoderLayer pre-norm gelu padding': encoder(True, 'gelu', True),
        'nllLoss': nll(False, None, 'mean'),
        'nllLoss weight ignoreIndex': nll(True, 2, 'mean'),
        'nllLoss weight none': nll(True, None, 'none'),
        'nllLoss sum': nll(False, 3, 'sum'),
        'binaryCrossEntropy': bce(False, 'mean'),
        'binaryCrossEntropy weight sum': bce(True, 'sum'),
        'binaryCrossEntropy weight none': bce(True, 'none'),
        'klDiv batchmean zeros': kl(False, 'batchmean', zeros=True),
        'klDiv mean': kl(False, 'mean'),
        'klDiv logTarget sum': kl(True, 'sum'),
        'klDiv logTarget none': kl(True, 'none'),
        'smoothL1Loss': smooth_l1(1.0, 'mean'),
        'smoothL1Loss beta none': smooth_l1(0.5, 'none'),
        'smoothL1Loss beta 0 sum': smooth_l1(0.0, 'sum'),
        'cosineSimilarity': cosine((4, 5), (4, 5), 1),
        'cosineSimilarity broadcast': cosine((2, 3, 4), (3, 4), -1),
        'marginRankingLoss': ranking(0.5, 'mean'),
        'marginRankingLoss none': ranking(0.0, 'none'),
        'tripletMarginLoss': triplet(1.0, 2, False, 'mean'),
        'tripletMarginLoss p1 swap none': triplet(0.5, 1, True, 'none'),
        'tripletMarginLoss p3 sum': triplet(2.0, 3, False, 'sum'),
    }
    out = {'torch': torch.__version__, 'cases': cases}
    print('wrote', write_json('nn.json', out, entry_per_line(out)))


if __name__ == '__main__':
    main()
