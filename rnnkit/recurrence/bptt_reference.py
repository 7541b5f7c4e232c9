"""The hand-written BPTT kernels' equations once more, in plain autograd operations — what their backward runs instead
when a *graph* of the gradient is asked for (``create_graph=True``: gradient penalties, Hessian-vector products).

The kernels' own backward is differentiable once (its gradients are built in place, with no graph). Under
``create_graph=True`` it recomputes the forward here, from the same inputs, and lets autograd differentiate that —
the same gradient, now with a graph, so double backward matches ``torch.nn`` (tested). Same arguments and outputs as the
kernels (``rnnkit.recurrence.bptt``): inputs ``x (T, B, I)``, gates in torch's order, ``M`` a float step mask or None,
outputs the carried states ``h_1 … h_T`` and the final state(s).
"""

from __future__ import annotations

import functools

import torch
from torch import Tensor
from torch.nn import functional as F


def _masked(new: Tensor, old: Tensor, m_t: Tensor | None) -> Tensor:
    return new if m_t is None else torch.lerp(old, new, m_t)


def _masks(M: Tensor | None, T: int):
    return [None] * T if M is None else M.unbind(0)


def simple_rnn(x, W_ih, b, h0, W_hh, relu, M):
    """h_t = φ(W_ih x_t + b + W_hh h_{t-1})."""
    xw, h, ys = F.linear(x, W_ih, b), h0, []
    for xw_t, m_t in zip(xw.unbind(0), _masks(M, x.shape[0])):
        a = xw_t + h @ W_hh.t()
        h = _masked(torch.relu(a) if relu else torch.tanh(a), h, m_t)
        ys.append(h)
    return torch.stack(ys), h


def lstm(x, W_ih, b, h0, c0, W_hh, M):
    """[i, f, g, o] = W_ih x_t + b + W_hh h_{t-1}; c_t = σ(f) c_{t-1} + σ(i) tanh(g); h_t = σ(o) tanh(c_t)."""
    xw, h, c, ys = F.linear(x, W_ih, b), h0, c0, []
    for xw_t, m_t in zip(xw.unbind(0), _masks(M, x.shape[0])):
        i, f, g, o = (xw_t + h @ W_hh.t()).chunk(4, dim=-1)
        cn = torch.sigmoid(f) * c + torch.sigmoid(i) * torch.tanh(g)
        hn = torch.sigmoid(o) * torch.tanh(cn)
        c, h = _masked(cn, c, m_t), _masked(hn, h, m_t)
        ys.append(h)
    return torch.stack(ys), h, c


def gru(x, W_ih, b_ih, h0, W_hh, b_hh, M):
    """r, z = σ(xw_{r,z} + gh_{r,z}); n = tanh(xw_n + r ⊙ gh_n); h_t = (1 − z) n + z h_{t-1}, gh = W_hh h + b_hh."""
    xw, h, ys = F.linear(x, W_ih, b_ih), h0, []
    for xw_t, m_t in zip(xw.unbind(0), _masks(M, x.shape[0])):
        x_r, x_z, x_n = xw_t.chunk(3, dim=-1)
        h_r, h_z, h_n = F.linear(h, W_hh, b_hh).chunk(3, dim=-1)
        r, z = torch.sigmoid(x_r + h_r), torch.sigmoid(x_z + h_z)
        n = torch.tanh(x_n + r * h_n)
        h = _masked(torch.lerp(n, h, z), h, m_t)
        ys.append(h)
    return torch.stack(ys), h


def feedback(cell, L, gated, x, h0, c0, M, *W):
    """The Gated-Feedback RNN (``rnnkit.cells.feedback``) as its kernel takes it (``rnnkit.recurrence.bptt_feedback``):
    ``W`` = per layer ``W_ih, b, W_gx, U, U_g, W_hh, b_hn``; ``h0``, ``c0`` and the final states hold all layers'
    states side by side (B, L·H); layer j reads layer j−1's carried state."""
    T, B = x.shape[:2]
    H = W[3].shape[0]
    hs, ys = list(h0.split(H, dim=-1)), []
    cs = list(c0.split(H, dim=-1)) if cell == "lstm" else None
    for xt, m_t in zip(x.unbind(0), _masks(M, T)):
        h_star, below, new_h, new_c = torch.cat(hs, dim=-1), xt, [], []
        for j in range(L):
            W_ih, b, W_gx, U, U_g, W_hh, b_hn = W[7 * j:7 * j + 7]
            fb = h_star
            if gated:
                g = torch.sigmoid(F.linear(below, W_gx) + F.linear(h_star, U_g))  # g^{i→j}, (B, L)
                fb = (h_star.view(B, L, H) * g.unsqueeze(-1)).reshape(B, L * H)
            xw, f = F.linear(below, W_ih, b), F.linear(fb, U, b_hn)
            if cell == "tanh":
                h = torch.tanh(xw + f)
            elif cell == "gru":
                x_r, x_z, x_n = xw.chunk(3, dim=-1)
                h_r, h_z = F.linear(hs[j], W_hh).chunk(2, dim=-1)
                r, z = torch.sigmoid(x_r + h_r), torch.sigmoid(x_z + h_z)
                h = torch.lerp(torch.tanh(x_n + r * f), hs[j], z)
            else:
                x_i, x_f, x_g, x_o = xw.chunk(4, dim=-1)
                h_i, h_f, h_o = F.linear(hs[j], W_hh).chunk(3, dim=-1)
                c = torch.sigmoid(x_f + h_f) * cs[j] + torch.sigmoid(x_i + h_i) * torch.tanh(x_g + f)
                h = torch.sigmoid(x_o + h_o) * torch.tanh(c)
                new_c.append(_masked(c, cs[j], m_t))
            below = _masked(h, hs[j], m_t)
            new_h.append(below)
        hs, cs = new_h, new_c
        ys.append(below)
    finals = (torch.cat(hs, dim=-1),) + ((torch.cat(cs, dim=-1),) if cell == "lstm" else ())
    return torch.stack(ys), *finals


def autocast_off(backward):
    """A kernel's backward in the dtypes its forward chose. Layers run their kernels' forward with autocast switched
    off (their recurrence stays in the weights' dtype); ``loss.backward()`` called inside an autocast block would
    otherwise switch it back on for the backward's products (on the CPU, autograd runs backward in the caller's
    thread), giving mixed dtypes — e.g. a bfloat16 buffer where a compiled step reads float32."""

    @functools.wraps(backward)
    def run(ctx, *grads):
        like = next((g for g in grads if isinstance(g, Tensor)), None)
        if like is None or like.device.type == "meta" or not torch.is_autocast_enabled(like.device.type):
            return backward(ctx, *grads)
        with torch.autocast(like.device.type, enabled=False):
            return backward(ctx, *grads)
    return run


def regrad(needs_input_grad, reference, args: tuple, grads: tuple, create_graph: bool = True) -> tuple:
    """The kernel's input gradients for ``grads`` (one per output, None where unused), computed by autograd through
    ``reference(*args)`` (with ``create_graph``: a gradient that carries a graph); None for the inputs that need none."""
    wanted = [i for i, (a, need) in enumerate(zip(args, needs_input_grad)) if need and torch.is_tensor(a)]
    outputs = reference(*args)
    pairs = [(o, g) for o, g in zip(outputs, grads) if g is not None]
    got = torch.autograd.grad([o for o, _ in pairs], [args[i] for i in wanted], [g for _, g in pairs],
                              create_graph=create_graph, allow_unused=True)
    result = [None] * len(args)
    for i, g in zip(wanted, got):
        result[i] = g if g is not None else torch.zeros_like(args[i])
    return tuple(result)
