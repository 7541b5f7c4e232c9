"""The Keras names rnnkit.keras deliberately does not provide, each with why and what to use instead — so
``rnnkit.keras.layers.RandomFlip`` is an ``AttributeError`` that says so, not a bare "no attribute". Every other name
of Keras 3.15's public namespaces is provided (``tests/test_keras_not_provided.py`` checks both)."""

from __future__ import annotations

_IMAGE_AUGMENTATION = ("image augmentation is out of scope for rnnkit.keras (a recurrent-network front end): augment "
                       "the images before fit, e.g. with torchvision.transforms")
_LOW_PRECISION = ("loss scaling serves float16 training; rnnkit.keras trains in float32 (mixed precision is refused "
                  "by name): use the inner optimizer itself")
_IMAGES = "image files are out of scope for rnnkit.keras: read them with PIL or torchvision"
_OTHER_OPTIMIZER = ("not provided by rnnkit.keras; its optimizers: SGD, Adam, AdamW, RMSprop, Adagrad, Adamax, Nadam, "
                    "Adadelta, Lion, Lamb, Ftrl, Adafactor")

NOT_PROVIDED: dict[str, dict[str, str]] = {
    "layers": {**{name: _IMAGE_AUGMENTATION for name in (
        "AugMix", "AutoContrast", "ContrastLimitedAdaptiveHistogramEqualization", "CutMix", "Equalization", "MixUp",
        "RandAugment", "RandomBrightness", "RandomColorDegeneration", "RandomColorJitter", "RandomContrast",
        "RandomCrop", "RandomElasticTransform", "RandomErasing", "RandomFlip", "RandomGaussianBlur", "RandomGrayscale",
        "RandomHue", "RandomInvert", "RandomPerspective", "RandomPosterization", "RandomRotation", "RandomSaturation",
        "RandomSharpness", "RandomShear", "RandomTranslation", "RandomZoom", "Solarization", "MaxNumBoundingBoxes")},
        "JaxLayer": "it wraps JAX code and rnnkit.keras runs on PyTorch: wrap a torch module with TorchModuleWrapper",
        "FlaxLayer": "it wraps Flax code and rnnkit.keras runs on PyTorch: wrap a torch module with TorchModuleWrapper",
        "TFSMLayer": "it loads a TensorFlow SavedModel and rnnkit.keras runs without TensorFlow: load a .keras file",
        "HashedCrossing": ("its bins are TensorFlow's sparse.cross_hashed, which rnnkit.keras does not reproduce: hash the "
                           "joined features with layers.Hashing")},
    "optimizers": {"LossScaleOptimizer": _LOW_PRECISION, "Muon": _OTHER_OPTIMIZER,
                   "ScheduleFreeAdamW": _OTHER_OPTIMIZER, "MultiOptimizer": _OTHER_OPTIMIZER,
                   "OptimizerMap": _OTHER_OPTIMIZER, "legacy": "Keras 2's optimizers are not provided"},
    "mixed_precision": {"LossScaleOptimizer": _LOW_PRECISION},
    "utils": {"FeatureSpace": ("structured-data preprocessing over tf.data is not provided: encode the columns (e.g. "
                               "with Normalization, StringLookup, CategoryEncoding) before fit"),
              "image_dataset_from_directory": _IMAGES, "load_img": _IMAGES, "save_img": _IMAGES,
              "img_to_array": _IMAGES, "array_to_img": _IMAGES, "bounding_boxes": _IMAGES,
              "legacy": "Keras 2's utilities are not provided"},
    "callbacks": {"OrbaxCheckpoint": "Orbax is JAX's checkpointer: use ModelCheckpoint or BackupAndRestore"},
    "saving": {"KerasFileEditor": "not provided: load the model, change it, save it again"},
    "backend": {"result_type": "not provided: rnnkit.keras computes in float32 (ops.convert_to_tensor gives a dtype)"},
    "dtype_policies": {name: "quantized policies are not provided: rnnkit.keras computes in float32" for name in (
        "AWQDTypePolicy", "DTypePolicyMap", "GPTQDTypePolicy", "Int4DTypePolicy", "QuantizedDTypePolicy",
        "QuantizedFloat8DTypePolicy")},
}


def missing(namespace: str, name: str) -> AttributeError:
    """The error for ``rnnkit.keras.<namespace>.<name>``: why it is not provided, or Python's plain message."""
    reason = NOT_PROVIDED.get(namespace, {}).get(name)
    if reason is None:
        return AttributeError(f"module 'rnnkit.keras.{namespace}' has no attribute {name!r}")
    return AttributeError(f"keras.{namespace}.{name} is not provided by rnnkit.keras: {reason}")


__all__ = ["NOT_PROVIDED", "missing"]
