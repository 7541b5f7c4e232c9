"""``rnnkit.keras.layers``: the Keras layers the tutorial's models use, on rnnkit's engine."""

from rnnkit.keras.layers.attention import AdditiveAttention, Attention
from rnnkit.keras.layers.base import Input, KerasTensor, Layer
from rnnkit.keras.layers.bidirectional import Bidirectional
from rnnkit.keras.layers.cells import GRUCell, LSTMCell, SimpleRNNCell
from rnnkit.keras.layers.convolutional import AveragePooling1D, Conv1D, MaxPooling1D
from rnnkit.keras.layers.core import (
    Activation,
    Dense,
    Dropout,
    Embedding,
    Masking,
    RepeatVector,
    TimeDistributed,
    Wrapper,
)
from rnnkit.keras.layers.input_layer import InputLayer
from rnnkit.keras.layers.merging import Add, Average, Concatenate, Maximum, Minimum, Multiply, Subtract
from rnnkit.keras.layers.normalization import BatchNormalization, LayerNormalization
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
from rnnkit.keras.layers.stacked import StackedRNNCells

__all__ = ["Input", "InputLayer", "KerasTensor", "Layer", "Bidirectional", "SimpleRNNCell", "LSTMCell", "GRUCell",
           "StackedRNNCells",
           "Activation", "Dense", "Dropout", "Embedding", "Masking", "RepeatVector", "TimeDistributed", "RNN", "SimpleRNN",
           "LSTM", "GRU", "Wrapper", "Add", "Subtract", "Multiply", "Average", "Maximum", "Minimum", "Concatenate",
           "GlobalAveragePooling1D", "GlobalMaxPooling1D", "LayerNormalization", "Flatten", "Reshape", "Permute",
           "SpatialDropout1D", "Attention", "AdditiveAttention", "Lambda", "Conv1D",
           "MaxPooling1D", "AveragePooling1D", "BatchNormalization"]
