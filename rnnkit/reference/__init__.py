"""The NumPy reference engine: every cell's forward and backpropagation through time written by hand, in float64.

No torch in the math (``convert`` is the only bridge). Learners read it; the tests hold it to torch.autograd and to
finite differences, so everyone can trust the fast engine because the two agree.
"""

from rnnkit.reference.clip import clip_grad_norm, clip_grad_value, global_norm
from rnnkit.reference.convert import from_torch, to_torch
from rnnkit.reference.feedback_model import ReferenceFeedbackRNN
from rnnkit.reference.gradcheck import gradcheck
from rnnkit.reference.losses import cross_entropy, mse
from rnnkit.reference.model import ReferenceSequenceModel
from rnnkit.reference.optim import SGD, Adam
from rnnkit.reference.stacked import ReferenceRNN
from rnnkit.reference.tbptt import tbptt_gradients, tbptt_windows
from rnnkit.reference.trainer import History, train

__all__ = ["ReferenceRNN", "ReferenceFeedbackRNN", "ReferenceSequenceModel", "from_torch", "to_torch", "gradcheck",
           "clip_grad_norm", "clip_grad_value", "global_norm", "mse", "cross_entropy", "SGD", "Adam", "train", "History",
           "tbptt_gradients", "tbptt_windows"]
