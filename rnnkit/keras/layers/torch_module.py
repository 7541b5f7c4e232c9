"""Keras's ``TorchModuleWrapper``: any ``torch.nn.Module`` as a Keras layer — its parameters the layer's weights
(trained by ``fit``, in ``get_weights``), its ``forward`` the layer's call (``train()``/``eval()`` following
``training``). rnnkit's own torch layers go into a Keras model this way: ``TorchModuleWrapper(rnnkit.LayerNormLSTM(…))``.

In weight files each entry of the module's ``state_dict`` (buffers too) sits under its key, as Keras writes it
(``layers/torch_module_wrapper/vars/weight``), so ``save_weights``/``load_weights`` move both ways. Keras saves the
module itself in a model's config by pickling it, which loading would run as code: rnnkit refuses to write or read
that (``save_weights`` instead, and build the model in code).
"""

from __future__ import annotations

import torch

from rnnkit.keras.layers.base import Layer


class TorchModuleWrapper(Layer):
    def __init__(self, module: torch.nn.Module, name=None, output_shape=None, **kwargs):
        super().__init__(name=name, **kwargs)
        if not isinstance(module, torch.nn.Module):
            raise TypeError(f"TorchModuleWrapper wraps a torch.nn.Module, got {type(module).__name__}")
        if isinstance(module, torch.nn.modules.lazy.LazyModuleMixin) and module.has_uninitialized_params():
            raise ValueError("LazyModules are not supported unless they are already initialized. Received "
                             f"uninitialized LazyModule: module={module}")
        self.module, self.output_shape = module, output_shape
        self.built = True

    def _own_weights(self) -> list:
        return list(self.module.parameters())

    def h5_entries(self) -> list[tuple[str, torch.Tensor]]:
        """(key, tensor) of the module's state, as Keras's ``save_own_variables`` stores it."""
        return list(self.module.state_dict(keep_vars=True).items())

    def call(self, *args, training=None):  # (no mask: a torch module takes none)
        self.module.train(training is not False)
        return self.module(*args)

    def compute_output_shape(self, input_shape):
        return self.output_shape if self.output_shape is not None else super().compute_output_shape(input_shape)

    def get_config(self):
        raise ValueError(f"TorchModuleWrapper {self.name!r}: its torch module cannot be saved in a config (Keras "
                         "pickles it, and loading a pickle runs code) — save the weights (model.save_weights) and "
                         "build the model in code")

    @classmethod
    def from_config(cls, config, custom_objects=None):
        raise ValueError(f"TorchModuleWrapper {config.get('name')!r}: the file holds its torch module pickled, and "
                         "rnnkit does not unpickle (it would run code from the file) — build the model in code and "
                         "load_weights")


__all__ = ["TorchModuleWrapper"]
