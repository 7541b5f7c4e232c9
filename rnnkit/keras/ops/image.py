"""``keras.ops.image.resize`` as Keras 3's PyTorch backend computes it: ``torch.nn.functional.interpolate``
("bilinear" and "bicubic" without corner alignment, "nearest" as PyTorch's nearest-exact, ``antialias`` for the
first two), after an optional centred crop (``crop_to_aspect_ratio``) or constant padding (``pad_to_aspect_ratio``,
``fill_value``) to the target's aspect ratio; images (H, W, C) or batches (B, H, W, C), channels first too. A
recurrent model's image front (a CRNN's line images, a ConvLSTM's frames) resizes with it."""

from __future__ import annotations

import torch
from torch.nn import functional as F

from rnnkit.keras.ops.core import convert_to_tensor
from rnnkit.keras.ops.operation import operation

MODES = {"bilinear": "bilinear", "nearest": "nearest-exact", "bicubic": "bicubic"}


def _aspect_box(height: int, width: int, target_height: int, target_width: int, crop: bool):
    """(box height, box width, start row, start column): the centred box of the target's aspect ratio inside the
    image (``crop``) or around it (padding), in Keras's integer arithmetic."""
    box_h = int(float(width * target_height) / target_width)
    box_w = int(float(height * target_width) / target_height)
    if crop:
        box_h, box_w = max(min(height, box_h), 1), max(min(width, box_w), 1)
        return box_h, box_w, int(float(height - box_h) / 2), int(float(width - box_w) / 2)
    box_h, box_w = max(height, box_h), max(width, box_w)
    return box_h, box_w, int(float(box_h - height) / 2), int(float(box_w - width) / 2)


@operation("Resize", static=("size", "interpolation", "antialias", "crop_to_aspect_ratio", "pad_to_aspect_ratio",
                              "fill_mode", "fill_value", "data_format"), module="image")
def resize(images, size, interpolation="bilinear", antialias=False, crop_to_aspect_ratio=False,
           pad_to_aspect_ratio=False, fill_mode="constant", fill_value=0.0, data_format=None):
    if interpolation not in MODES:
        raise ValueError(f"Invalid value for argument `interpolation`. Expected of one {tuple(MODES)} (Lanczos is not "
                         f"supported on PyTorch). Received: interpolation={interpolation}")
    if fill_mode != "constant":
        raise ValueError(f"Invalid value for argument `fill_mode`. Only `'constant'` is supported. Received: "
                         f"fill_mode={fill_mode}")
    if crop_to_aspect_ratio and pad_to_aspect_ratio:
        raise ValueError("Only one of `pad_to_aspect_ratio` & `crop_to_aspect_ratio` can be `True`.")
    if len(size) != 2:
        raise ValueError(f"Argument `size` must be a tuple of two elements (height, width). Received: size={size}")
    x = convert_to_tensor(images)
    if x.dim() not in (3, 4):
        raise ValueError(f"Invalid images rank: expected rank 3 (single image) or rank 4 (batch of images). Received "
                         f"input with shape: images.shape={tuple(x.shape)}")
    single, dtype = x.dim() == 3, x.dtype
    x = x.unsqueeze(0) if single else x
    x = x if x.is_floating_point() else x.float()
    x = x.permute(0, 3, 1, 2) if data_format != "channels_first" else x
    height, width = x.shape[-2:]
    if crop_to_aspect_ratio or pad_to_aspect_ratio:
        box_h, box_w, top, left = _aspect_box(height, width, size[0], size[1], crop_to_aspect_ratio)
        if crop_to_aspect_ratio:
            x = x[:, :, top:top + box_h, left:left + box_w]
        else:  # the same padding above and below (and left and right), as Keras pads
            x = F.pad(x, (left, left, top, top), value=float(fill_value))
    aligned = False if interpolation in ("bilinear", "bicubic") else None
    y = F.interpolate(x, size=tuple(size), mode=MODES[interpolation], align_corners=aligned,
                      antialias=bool(antialias) and interpolation in ("bilinear", "bicubic"))
    if interpolation == "bicubic" and dtype == torch.uint8:
        y = y.clamp(0, 255)
    y = y.permute(0, 2, 3, 1) if data_format != "channels_first" else y
    y = y.squeeze(0) if single else y
    return y if dtype.is_floating_point else y.round().to(dtype)  # (an integer image: rounded, as Keras casts it)


__all__ = ["resize"]
