"""Running a cell over time: the loop, fused and scan backends, hand-written BPTT, variable-length batches, per-step
recording."""

from rnnkit.recurrence.bptt import run_sequence
from rnnkit.recurrence.deferred import run_loop_deferred
from rnnkit.recurrence.fused import FUSED_MODES, run_fused
from rnnkit.recurrence.lengths import as_lengths, reverse_padded, step_mask
from rnnkit.recurrence.loop import run_loop
from rnnkit.recurrence.record import StepRecorder, active_recorder, record_steps
from rnnkit.recurrence.scan import run_scan, scanning, unaliased
from rnnkit.recurrence.transforms import transforming

BACKENDS = ("auto", "fused", "loop", "scan")

__all__ = ["BACKENDS", "FUSED_MODES", "run_fused", "run_loop", "run_scan", "scanning", "unaliased", "run_loop_deferred",
           "transforming", "run_sequence", "as_lengths", "reverse_padded", "step_mask", "StepRecorder", "active_recorder",
           "record_steps"]
