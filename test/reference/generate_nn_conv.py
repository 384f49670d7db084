"""Writes nn-conv.json: PyTorch's outputs and gradients of tg.nn's convolution, pooling and
resampling layers (Conv1d, Conv2d with dilation and groups, ConvTranspose2d, MaxPool2d and AvgPool2d
with padding and ceil_mode, AdaptiveAvgPool2d, Upsample) and of cross_entropy with weight,
ignore_index, label_smoothing and the class axis, for test/reference/nn-conv.test.ts (which needs
no torch). Inputs and outputs are in tapegrad's layouts (channels last); weights too:
Conv1d [k, in/groups, out], Conv2d [kh, kw, in/groups, out], ConvTranspose2d [kh, kw, in, out/groups].
Each case: the module (its tapegrad name and constructor arguments) or the loss and its options,
the parameters by tapegrad's state-dict names, the inputs, the output, and the gradients of
sum(output · R) for a fixed R with respect to the float inputs and every parameter.

Run with Debian's python3-torch: /usr/bin/python3 test/reference/generate_nn_conv.py
"""
import torch
import torch.nn as nn
import torch.nn.functional as F

from generate_common import ident, layer_case, lists, to_first, to_last, write_json

torch.manual_seed(0)


def lst(t):
    """Values as nested lists, each float to float32's 9 significant digits."""
    return lists(t, 9)


def case(inputs, forward, params, extra):
    """A layer's case (generate_common.layer_case), its numbers as lst writes them."""
    return layer_case(inputs, forward, params, extra, digits=9)

conv1d_w = lambda t: t.permute(2, 1, 0)
conv2d_w = lambda t: t.permute(2, 3, 1, 0)
convT_w = lambda t: t.permute(2, 3, 0, 1)


def layer(m, x, weight_layout, name, args, opts):
    """A layer with weight (and bias) on channels-last input x."""
    with torch.no_grad():
        if getattr(m, 'bias', None) is not None:
            m.bias.copy_(torch.randn(m.bias.shape) * 0.3)
    params = {}
    if weight_layout is not None:
        params['weight'] = (m.weight, weight_layout)
        if m.bias is not None:
            params['bias'] = (m.bias, ident)
    return case({'x': x}, lambda i: to_last(m(to_first(i['x']))), params, {'module': name, 'args': args, 'opts': opts})


def conv1d(cin, cout, k, length, **kw):
    m = nn.Conv1d(cin, cout, k, **kw)
    opts = {{'dilation': 'dilation', 'groups': 'groups', 'stride': 'stride', 'padding': 'padding'}[a]: v for a, v in kw.items()}
    return layer(m, torch.randn(2, length, cin), conv1d_w, 'Conv1d', [cin, cout, k], opts)


def conv2d(cin, cout, k, hw, **kw):
    m = nn.Conv2d(cin, cout, k, **kw)
    return layer(m, torch.randn(2, *hw, cin), conv2d_w, 'Conv2d', [cin, cout, k], dict(kw))


def conv_t(cin, cout, k, hw, **kw):
    m = nn.ConvTranspose2d(cin, cout, k, **kw)
    opts = {{'output_padding': 'outputPadding'}.get(a, a): v for a, v in kw.items()}
    return layer(m, torch.randn(2, *hw, cin), convT_w, 'ConvTranspose2d', [cin, cout, k], opts)


def pool(kind, k, hw, **kw):
    m = (nn.MaxPool2d if kind == 'max' else nn.AvgPool2d)(k, **kw)
    names = {'ceil_mode': 'ceilMode', 'count_include_pad': 'countIncludePad'}
    opts = {names.get(a, a): v for a, v in kw.items()}
    # entries far apart, so that no window's maximum is a near tie
    x = torch.randperm(2 * hw[0] * hw[1] * 3).float().reshape(2, *hw, 3) / 10 - 2
    return layer(m, x, None, 'MaxPool2d' if kind == 'max' else 'AvgPool2d', [k], opts)


def adaptive(out, hw):
    m = nn.AdaptiveAvgPool2d(out)
    return layer(m, torch.randn(2, *hw, 3), None, 'AdaptiveAvgPool2d', [out], {})


def upsample(hw, **kw):
    m = nn.Upsample(**kw)
    names = {'scale_factor': 'scaleFactor', 'align_corners': 'alignCorners'}
    opts = {names.get(a, a): v for a, v in kw.items()}
    return layer(m, torch.randn(2, *hw, 3), None, 'Upsample', [], opts)


def cross_entropy(shape, class_axis=None, weight=False, ignore=None, smoothing=0.0, reduction='mean', probs=False):
    """Logits of `shape` in PyTorch's layout [N, C, ...]; with class_axis None, given to tapegrad with
    the class axis moved last."""
    C = shape[1]
    z = torch.randn(shape)
    target_shape = (shape[0], *shape[2:])
    if probs:
        y = torch.softmax(torch.randn(shape), 1)
    else:
        y = torch.randint(0, C, target_shape)
        if ignore is not None:
            y.view(-1)[::3] = ignore
    w = torch.rand(C) + 0.5 if weight else None
    kw = {'reduction': reduction, 'label_smoothing': smoothing}
    if w is not None:
        kw['weight'] = w
    if ignore is not None:
        kw['ignore_index'] = ignore
    opts = {'reduction': reduction, 'labelSmoothing': smoothing, 'weight': lst(w) if w is not None else None,
            'ignoreIndex': ignore, 'classAxis': class_axis}
    if class_axis is None and len(shape) > 2:
        zt, yt = to_last(z), (to_last(y) if probs else y)
        f = lambda i: F.cross_entropy(to_first(i['x']), to_first(i['y']) if probs else i['y'], **kw)
    elif class_axis is None:
        zt, yt = z, y
        f = lambda i: F.cross_entropy(i['x'], i['y'], **kw)
    else:
        zt, yt = z, y
        f = lambda i: F.cross_entropy(i['x'], i['y'], **kw)
    return case({'x': zt, 'y': yt}, f, {}, {'loss': 'crossEntropy', 'opts': opts})


cases = {
    'Conv1d stride 2 padding 1': conv1d(3, 4, 3, 9, stride=2, padding=1),
    'Conv1d dilation 2 groups 2': conv1d(4, 6, 3, 10, dilation=2, groups=2),
    'Conv1d same': conv1d(2, 3, 4, 7, padding='same'),
    'Conv2d dilation 2 stride 2 padding 2': conv2d(3, 4, 3, (7, 8), dilation=2, stride=2, padding=2),
    'Conv2d groups 2': conv2d(4, 6, 3, (5, 6), groups=2, padding=1),
    'Conv2d depthwise': conv2d(3, 6, 3, (5, 5), groups=3),
    'Conv2d dilation (2, 1) same': conv2d(2, 3, 3, (6, 5), dilation=(2, 1), padding='same'),
    'ConvTranspose2d stride 2 padding 1 outputPadding 1': conv_t(3, 4, 3, (3, 4), stride=2, padding=1, output_padding=1),
    'ConvTranspose2d groups 2 dilation 2': conv_t(4, 6, 3, (3, 3), groups=2, dilation=2, stride=2),
    'ConvTranspose2d kernel (2, 3)': conv_t(2, 3, (2, 3), (4, 3), padding=(0, 1)),
    'MaxPool2d padding 1': pool('max', 3, (6, 5), stride=2, padding=1),
    'MaxPool2d ceilMode': pool('max', 3, (6, 6), stride=2, ceil_mode=True),
    'MaxPool2d padding 1 ceilMode': pool('max', 2, (5, 6), stride=2, padding=1, ceil_mode=True),
    'AvgPool2d padding 1': pool('avg', 3, (5, 6), stride=2, padding=1),
    'AvgPool2d padding 1 countIncludePad false': pool('avg', 3, (5, 6), stride=2, padding=1, count_include_pad=False),
    'AvgPool2d padding 1 ceilMode': pool('avg', 2, (5, 6), stride=2, padding=1, ceil_mode=True),
    'AvgPool2d ceilMode countIncludePad false': pool('avg', 3, (6, 6), stride=2, padding=1, ceil_mode=True, count_include_pad=False),
    'AdaptiveAvgPool2d 5×7 → 3×4': adaptive((3, 4), (5, 7)),
    'AdaptiveAvgPool2d global': adaptive(1, (4, 5)),
    'AdaptiveAvgPool2d (None, 2)': adaptive((None, 2), (3, 5)),
    'Upsample nearest ×2': upsample((3, 4), scale_factor=2, mode='nearest'),
    'Upsample nearest size 5×7': upsample((3, 4), size=(5, 7), mode='nearest'),
    'Upsample nearest ×1.5': upsample((4, 3), scale_factor=1.5, mode='nearest'),
    'Upsample bilinear ×2': upsample((3, 4), scale_factor=2, mode='bilinear', align_corners=False),
    'Upsample bilinear size 5×7 alignCorners': upsample((3, 4), size=(5, 7), mode='bilinear', align_corners=True),
    'Upsample bilinear size 2×3 (down)': upsample((5, 7), size=(2, 3), mode='bilinear'),
    'Upsample bilinear ×(1.5, 2.5)': upsample((4, 3), scale_factor=(1.5, 2.5), mode='bilinear'),
    'crossEntropy weight': cross_entropy((6, 4), weight=True),
    'crossEntropy weight sum': cross_entropy((6, 4), weight=True, reduction='sum'),
    'crossEntropy ignoreIndex': cross_entropy((7, 4), ignore=-100),
    'crossEntropy weight ignoreIndex 2 none': cross_entropy((7, 4), weight=True, ignore=2, reduction='none'),
    'crossEntropy weight ignoreIndex labelSmoothing': cross_entropy((7, 5), weight=True, ignore=-1, smoothing=0.2),
    'crossEntropy ignoreIndex labelSmoothing': cross_entropy((7, 5), ignore=-100, smoothing=0.1),
    'crossEntropy classAxis 1 [N, C, H, W]': cross_entropy((2, 4, 3, 2), class_axis=1, weight=True, ignore=-100),
    'crossEntropy channels last [N, H, W, C]': cross_entropy((2, 4, 3, 2), weight=True, smoothing=0.1),
    'crossEntropy classAxis 1 probabilities weight': cross_entropy((3, 4, 2), class_axis=1, weight=True, probs=True),
    'crossEntropy probabilities weight labelSmoothing': cross_entropy((5, 4), weight=True, probs=True, smoothing=0.2),
}

print(f'wrote {len(cases)} cases to {write_json("nn-conv.json", {"torch": torch.__version__, "cases": cases})}')
