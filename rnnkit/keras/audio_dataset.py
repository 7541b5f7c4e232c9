"""Keras's ``utils.audio_dataset_from_directory`` without TensorFlow: .wav recordings filed one folder per class
(``directory_dataset``: Keras's indexing, labels, split and reshuffling) as a ``PyDataset`` of batches — (audio,
labels), audio float32 (batch, samples, channels) in [−1, 1] as ``tf.audio.decode_wav`` gives it (``soundfile``
reads the files), each batch zero-padded at the end to its longest recording (Keras's ``padded_batch``), or every
recording cut or zero-padded to ``output_sequence_length`` samples.

``sampling_rate``: recordings at another rate are resampled to it (``soxr``, the resampler librosa uses) before the
cut — Keras needs ``tensorflow_io`` for this and cuts before resampling, so its ``output_sequence_length`` counts
samples at the file's own rate; here it counts them at ``sampling_rate``. ``ragged=True`` (tf.RaggedTensor) is
refused: pad, or give ``output_sequence_length``."""

from __future__ import annotations

import numpy as np

from rnnkit.keras.directory_dataset import FileDataset, from_directory


class AudioFileDataset(FileDataset):
    """Batches of (audio, labels) read from .wav files."""

    def __init__(self, paths, labels, class_names, label_mode, batch_size, sampling_rate, output_sequence_length,
                 shuffle: bool, seed):
        super().__init__(paths, labels, class_names, label_mode, batch_size, shuffle, seed)
        self.sampling_rate, self.output_sequence_length = sampling_rate, output_sequence_length

    def load(self, i: int) -> np.ndarray:
        import soundfile

        try:
            audio, rate = soundfile.read(self.file_paths[i], dtype="float32", always_2d=True)
        except (RuntimeError, soundfile.LibsndfileError) as e:
            raise ValueError(f"{self.file_paths[i]}: not a readable .wav file ({e})") from None
        if self.sampling_rate is not None and rate != self.sampling_rate:
            import soxr

            audio = np.asarray(soxr.resample(audio, rate, self.sampling_rate), dtype=np.float32).reshape(
                -1, audio.shape[1])
        n = self.output_sequence_length
        if n is not None:
            audio = audio[:n] if len(audio) >= n else np.pad(audio, ((0, n - len(audio)), (0, 0)))
        return audio

    def stack(self, items: list) -> np.ndarray:
        channels = {a.shape[1] for a in items}
        if len(channels) > 1:
            raise ValueError(f"a batch mixes recordings of {sorted(channels)} channels; give recordings of one "
                             "channel count")
        longest = max(len(a) for a in items)
        return np.stack([np.pad(a, ((0, longest - len(a)), (0, 0))) for a in items]).astype(np.float32)


def audio_dataset_from_directory(directory, labels="inferred", label_mode="int", class_names=None, batch_size=32,
                                 sampling_rate=None, output_sequence_length=None, ragged=False, shuffle=True,
                                 seed=None, validation_split=None, subset=None, follow_links=False, verbose=True):
    """Keras's ``audio_dataset_from_directory`` (module docstring); ``subset="both"`` returns (training,
    validation)."""
    if ragged:
        raise ValueError("audio_dataset_from_directory: ragged=True (a tf.RaggedTensor) is not supported by "
                         "rnnkit.keras; batches are zero-padded, or give output_sequence_length")
    if sampling_rate is not None and (not isinstance(sampling_rate, int) or isinstance(sampling_rate, bool)
                                      or sampling_rate <= 0):
        raise ValueError(f"`sampling_rate` should be a positive integer. Received: sampling_rate={sampling_rate}")

    def make(paths, y, names, mode, shuffled, seed):
        return AudioFileDataset(paths, y, names, mode, batch_size, sampling_rate, output_sequence_length, shuffled,
                                seed)
    return from_directory(directory, make, (".wav",), "audio", labels, label_mode, class_names, shuffle, seed,
                          validation_split, subset, follow_links, verbose)


__all__ = ["audio_dataset_from_directory", "AudioFileDataset"]
