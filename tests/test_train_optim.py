"""Optimizers named in the config: Adam's β's reach torch.optim, checked against Adam's update written out by hand."""

import math

import pytest
import torch

from rnnkit.train.config import OptimConfig
from rnnkit.train.optim import build_optimizer


def _adam_by_hand(p, grads, lr, b1, b2, eps, wd=0.0, decoupled=False):
    """Kingma & Ba's Adam (Algorithm 1), with L2 (Adam) or decoupled (AdamW, Loshchilov & Hutter) weight decay."""
    m = v = 0.0
    for t, g in enumerate(grads, 1):
        if decoupled:
            p -= lr * wd * p
        else:
            g = g + wd * p
        m = b1 * m + (1 - b1) * g
        v = b2 * v + (1 - b2) * g * g
        p -= lr * (m / (1 - b1 ** t)) / (math.sqrt(v / (1 - b2 ** t)) + eps)
    return p


@pytest.mark.parametrize("name", ["adam", "adamw"])
def test_adam_uses_the_configured_betas(name):
    """Given β1 = 0.5, β2 = 0.9 and three gradients, the parameter follows Adam's update with those β's (with the
    defaults 0.9 / 0.999 it would land elsewhere: the second and third steps depend on them)."""
    cfg = OptimConfig(name=name, lr=0.1, beta1=0.5, beta2=0.9, weight_decay=0.05)
    w = torch.nn.Parameter(torch.tensor([1.0], dtype=torch.float64))
    opt = build_optimizer(cfg, [w])
    grads = [0.3, -1.2, 0.7]
    for g in grads:
        w.grad = torch.tensor([g], dtype=torch.float64)
        opt.step()
    want = _adam_by_hand(1.0, grads, 0.1, 0.5, 0.9, cfg.eps, wd=0.05, decoupled=name == "adamw")
    assert w.item() == pytest.approx(want, abs=1e-12)
    assert w.item() != pytest.approx(_adam_by_hand(1.0, grads, 0.1, 0.9, 0.999, cfg.eps, 0.05, name == "adamw"),
                                     abs=1e-6)


@pytest.mark.parametrize("key,value", [("beta1", 1.0), ("beta2", -0.1)])
def test_betas_outside_zero_one_are_refused(key, value):
    cfg = OptimConfig(name="adam", **{key: value})
    with pytest.raises(ValueError, match=f"optim.{key} must be in \\[0, 1\\), got {value}"):
        build_optimizer(cfg, [torch.nn.Parameter(torch.zeros(1))])


@pytest.mark.parametrize("name", ["adamw", "sgd"])
def test_decay_vectors_false_decays_only_the_matrices(name):
    """With ``decay_vectors=False`` a bias or norm gain (1-D) follows the update without weight decay and a weight matrix
    the update with it — AdamW's by hand (Loshchilov & Hutter), SGD's w − lr (g + wd w); by default both decay."""
    grads = [0.3, -1.2, 0.7]
    for decay_vectors in (False, True):
        cfg = OptimConfig(name=name, lr=0.1, weight_decay=0.2, decay_vectors=decay_vectors)
        W = torch.nn.Parameter(torch.ones(1, 1, dtype=torch.float64))
        b = torch.nn.Parameter(torch.ones(1, dtype=torch.float64))
        opt = build_optimizer(cfg, [W, b])
        for g in grads:
            W.grad, b.grad = torch.full_like(W, g), torch.full_like(b, g)
            opt.step()
        for p, decayed in ((W, True), (b, decay_vectors)):
            wd = 0.2 if decayed else 0.0
            if name == "adamw":
                want = _adam_by_hand(1.0, grads, 0.1, 0.9, 0.999, cfg.eps, wd=wd, decoupled=True)
            else:
                want = 1.0
                for g in grads:
                    want -= 0.1 * (g + wd * want)
            assert p.item() == pytest.approx(want, abs=1e-12)
