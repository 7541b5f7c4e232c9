"""Batches from indices (rnnkit.train.sampler.fetch_batch): a dataset's own batch_of when it has one and the trainer
collates with torch's default_collate; the items and the caller's collate otherwise."""

import torch
from torch.utils.data import default_collate

from rnnkit.train.sampler import fetch_batch


class Items:
    def __init__(self):
        self.calls = []

    def __getitem__(self, k):
        self.calls.append(k)
        return torch.tensor([k, 10 * k])


class Batched(Items):
    def batch_of(self, indices):
        return ("whole", list(indices))


def test_items_are_fetched_one_by_one_and_collated():
    data = Items()
    torch.testing.assert_close(fetch_batch(data, [2, 0], default_collate), torch.tensor([[2, 20], [0, 0]]))
    assert data.calls == [2, 0]


def test_a_dataset_with_batch_of_builds_the_batch_itself():
    data = Batched()
    assert fetch_batch(data, [3, 1], default_collate) == ("whole", [3, 1]) and data.calls == []


def test_a_callers_own_collate_is_kept_even_when_the_dataset_has_batch_of():
    data = Batched()
    assert fetch_batch(data, [1, 2], lambda items: sum(int(t[0]) for t in items)) == 3 and data.calls == [1, 2]
