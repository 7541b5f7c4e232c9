"""The main job until the tour lands: the tutorial's model on real data, for SimpleRNN, LSTM and GRU.

Each image of scikit-learn's digits is read as 8 time steps of 8 pixels; a recurrent layer reads the rows, a linear head on
the last step predicts the digit. Trained with Adam and cross-entropy, the loop of the tutorial (zero_grad, forward, loss,
backward, step), with gradient clipping. The progress bar shows the accuracy on a validation split carved from the
training images; the test accuracy printed per cell is measured once, at the end, on images nothing else looked at.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import torch
from torch import nn
from tqdm.auto import tqdm

from rnnkit.data.digits import load_digit_sequences
from rnnkit.models import SequenceClassifier


@dataclass
class DigitsResult:
    cell: str
    test_accuracy: float
    final_loss: float
    seconds: float
    parameters: int


def accuracy(model: nn.Module, x: torch.Tensor, y: torch.Tensor) -> float:
    model.eval()
    with torch.no_grad():
        return (model(x).argmax(-1) == y).float().mean().item()


def train_digits(cell: str, *, epochs: int = 15, hidden_size: int = 64, batch_size: int = 32, lr: float = 5e-3,
                 clip: float = 1.0, seed: int = 0, mode: str = "rows", progress: bool = True) -> DigitsResult:
    torch.manual_seed(seed)
    data = load_digit_sequences(mode, seed=seed, val_fraction=0.1)
    model = SequenceClassifier(cell, data.x_train.shape[-1], hidden_size, data.num_classes)
    optimizer = torch.optim.Adam(model.parameters(), lr=lr)
    criterion = nn.CrossEntropyLoss()
    g = torch.Generator().manual_seed(seed)
    n = len(data.x_train)
    start = time.perf_counter()
    bar = tqdm(range(epochs), desc=f"{cell:>5}", disable=not progress, leave=True)
    loss_value = float("nan")
    for _ in bar:
        model.train()
        order = torch.randperm(n, generator=g)
        total = 0.0
        for i in range(0, n, batch_size):
            idx = order[i:i + batch_size]
            optimizer.zero_grad()
            loss = criterion(model(data.x_train[idx]), data.y_train[idx])
            loss.backward()
            nn.utils.clip_grad_norm_(model.parameters(), clip)
            optimizer.step()
            total += loss.item() * len(idx)
        loss_value = total / n
        bar.set_postfix(loss=f"{loss_value:.3f}", val_acc=f"{accuracy(model, data.x_val, data.y_val):.3f}")
    return DigitsResult(cell, accuracy(model, data.x_test, data.y_test), loss_value, time.perf_counter() - start,
                        sum(p.numel() for p in model.parameters()))


def run(cells=("rnn", "lstm", "gru"), **kwargs) -> list[DigitsResult]:
    results = [train_digits(c, **kwargs) for c in cells]
    print("\ncell      params   train loss   test accuracy   seconds")
    for r in results:
        print(f"{r.cell:<8}{r.parameters:>8}   {r.final_loss:>10.4f}   {r.test_accuracy:>13.2%}   {r.seconds:>7.1f}")
    return results
