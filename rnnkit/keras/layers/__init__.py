"""``rnnkit.keras.layers``: the Keras layers the tutorial's models use, on rnnkit's engine."""

from rnnkit.keras.layers import serialize as _serialization  # noqa: E402  (the module, before the function's name)
from rnnkit.keras.layers.activations import ELU, LeakyReLU, PReLU, ReLU, Softmax
from rnnkit.keras.layers.attention import AdditiveAttention, Attention
from rnnkit.keras.layers.base import Input, KerasTensor, Layer
from rnnkit.keras.layers.bidirectional import Bidirectional
from rnnkit.keras.layers.cells import GRUCell, LSTMCell, SimpleRNNCell
from rnnkit.keras.layers.conv_lstm import ConvLSTM1D, ConvLSTM2D, ConvLSTM3D
from rnnkit.keras.layers.convolutional import AveragePooling1D, Conv1D, Conv1DTranspose, MaxPooling1D
from rnnkit.keras.layers.convolutional_more import (
    AdaptiveAveragePooling1D,
    AdaptiveAveragePooling2D,
    AdaptiveAveragePooling3D,
    AdaptiveMaxPooling1D,
    AdaptiveMaxPooling2D,
    AdaptiveMaxPooling3D,
    Conv2DTranspose,
    Conv3DTranspose,
    DepthwiseConv1D,
    DepthwiseConv2D,
    SeparableConv1D,
    SeparableConv2D,
)
from rnnkit.keras.layers.convolutional_nd import (
    AveragePooling2D,
    AveragePooling3D,
    Conv2D,
    Conv3D,
    GlobalAveragePooling2D,
    GlobalAveragePooling3D,
    GlobalMaxPooling2D,
    GlobalMaxPooling3D,
    MaxPooling2D,
    MaxPooling3D,
)
from rnnkit.keras.layers.core import (
    Activation,
    Dense,
    Dropout,
    Embedding,
    Identity,
    Masking,
    RepeatVector,
    ReversibleEmbedding,
    TimeDistributed,
    Wrapper,
)
from rnnkit.keras.layers.einsum_dense import EinsumDense
from rnnkit.keras.layers.grouped_query_attention import GroupQueryAttention
from rnnkit.keras.layers.hashing import Hashing
from rnnkit.keras.layers.image_resizing import CenterCrop, Resizing
from rnnkit.keras.layers.input_layer import InputLayer
from rnnkit.keras.layers.input_spec import InputSpec
from rnnkit.keras.layers.lookup import IntegerLookup, StringLookup
from rnnkit.keras.layers.merging import (
    Add,
    Average,
    Concatenate,
    Dot,
    Maximum,
    Minimum,
    Multiply,
    Subtract,
    add,
    average,
    concatenate,
    dot,
    maximum,
    minimum,
    multiply,
    subtract,
)
from rnnkit.keras.layers.multi_head_attention import MultiHeadAttention
from rnnkit.keras.layers.noise import ActivityRegularization, AlphaDropout, GaussianDropout, GaussianNoise
from rnnkit.keras.layers.normalization import (
    BatchNormalization,
    GroupNormalization,
    LayerNormalization,
    Normalization,
    RMSNormalization,
    UnitNormalization,
)
from rnnkit.keras.layers.pipeline import Pipeline
from rnnkit.keras.layers.preprocessing import CategoryEncoding, Discretization, Rescaling
from rnnkit.keras.layers.recurrent import GRU, LSTM, RNN, SimpleRNN
from rnnkit.keras.layers.shaping import (
    Flatten,
    GlobalAveragePooling1D,
    GlobalMaxPooling1D,
    Lambda,
    Permute,
    Reshape,
    SpatialDropout1D,
)
from rnnkit.keras.layers.spatial_nd import (
    Cropping2D,
    Cropping3D,
    SpatialDropout2D,
    SpatialDropout3D,
    UpSampling2D,
    UpSampling3D,
    ZeroPadding2D,
    ZeroPadding3D,
)
from rnnkit.keras.layers.spectral_normalization import SpectralNormalization
from rnnkit.keras.layers.spectrogram import MelSpectrogram
from rnnkit.keras.layers.stacked import StackedRNNCells
from rnnkit.keras.layers.steps import Cropping1D, UpSampling1D, ZeroPadding1D
from rnnkit.keras.layers.stft_spectrogram import STFTSpectrogram
from rnnkit.keras.layers.text_vectorization import TextVectorization
from rnnkit.keras.layers.torch_module import TorchModuleWrapper


def serialize(layer) -> dict:
    """``keras.layers.serialize``: Keras's {"module", "class_name", "config", "registered_name"} of a layer."""
    return _serialization.serialize_layer(layer)


def deserialize(config, custom_objects=None):
    """``keras.layers.deserialize``: the layer a serialized dict describes (a custom class from ``custom_objects``)."""
    return _serialization.deserialize_layer(config, custom_objects)


# Keras's other names for the same layers
GlobalAvgPool1D, GlobalMaxPool1D, MaxPool1D, AvgPool1D, Convolution1D = (GlobalAveragePooling1D, GlobalMaxPooling1D,
                                                                        MaxPooling1D, AveragePooling1D, Conv1D)
Convolution1DTranspose = Conv1DTranspose
SeparableConvolution1D, SeparableConvolution2D = SeparableConv1D, SeparableConv2D
Convolution2DTranspose, Convolution3DTranspose = Conv2DTranspose, Conv3DTranspose
Convolution2D, Convolution3D, MaxPool2D, MaxPool3D, AvgPool2D, AvgPool3D = (Conv2D, Conv3D, MaxPooling2D, MaxPooling3D,
                                                                            AveragePooling2D, AveragePooling3D)
GlobalAvgPool2D, GlobalAvgPool3D, GlobalMaxPool2D, GlobalMaxPool3D = (GlobalAveragePooling2D, GlobalAveragePooling3D,
                                                                      GlobalMaxPooling2D, GlobalMaxPooling3D)

__all__ = ["Input", "InputLayer", "KerasTensor", "Layer", "Bidirectional", "SimpleRNNCell", "LSTMCell", "GRUCell",
           "StackedRNNCells",
           "Activation", "Dense", "Dropout", "Embedding", "Masking", "RepeatVector", "TimeDistributed", "RNN", "SimpleRNN",
           "LSTM", "GRU", "Wrapper", "Add", "Subtract", "Multiply", "Average", "Maximum", "Minimum", "Concatenate",
           "GlobalAveragePooling1D", "GlobalMaxPooling1D", "LayerNormalization", "Flatten", "Reshape", "Permute",
           "SpatialDropout1D", "Attention", "AdditiveAttention", "Lambda", "Conv1D", "Conv1DTranspose",
           "MaxPooling1D", "AveragePooling1D", "BatchNormalization", "UnitNormalization", "Identity", "Dot", "ReLU",
           "LeakyReLU", "ELU", "PReLU", "Softmax", "GaussianNoise", "GaussianDropout", "ActivityRegularization",
           "ZeroPadding1D", "Cropping1D", "UpSampling1D", "concatenate", "add", "subtract", "multiply", "average",
           "maximum", "minimum", "dot", "MultiHeadAttention", "Normalization",
           "StringLookup", "IntegerLookup", "TextVectorization", "GroupNormalization", "RMSNormalization",
           "AlphaDropout", "Rescaling", "CategoryEncoding", "Discretization", "TorchModuleWrapper",
           "MelSpectrogram", "ConvLSTM1D", "ConvLSTM2D", "ConvLSTM3D", "Hashing",
           "Conv2D", "Conv3D", "MaxPooling2D", "MaxPooling3D", "AveragePooling2D", "AveragePooling3D",
           "GlobalAveragePooling2D", "GlobalAveragePooling3D", "GlobalMaxPooling2D", "GlobalMaxPooling3D",
           "ReversibleEmbedding", "ZeroPadding2D", "ZeroPadding3D", "Cropping2D", "Cropping3D", "UpSampling2D",
           "UpSampling3D", "SpatialDropout2D", "SpatialDropout3D", "EinsumDense", "DepthwiseConv1D", "DepthwiseConv2D",
           "SeparableConv1D", "SeparableConv2D", "Conv2DTranspose", "Conv3DTranspose", "AdaptiveAveragePooling1D",
           "AdaptiveAveragePooling2D", "AdaptiveAveragePooling3D", "AdaptiveMaxPooling1D", "AdaptiveMaxPooling2D",
           "AdaptiveMaxPooling3D", "STFTSpectrogram", "InputSpec", "serialize", "deserialize",
           "GroupQueryAttention", "SpectralNormalization", "Pipeline", "Resizing", "CenterCrop"]


def __getattr__(name: str):  # a Keras name rnnkit.keras does not provide: say why (not_provided.py)
    from rnnkit.keras.not_provided import missing

    raise missing("layers", name)
