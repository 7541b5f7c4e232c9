"""Keras's ``callbacks.RemoteMonitor(root="http://localhost:9000", path="/publish/epoch/end/", field="data",
headers=None, send_as_json=False)``: after each epoch, the epoch number and its logs POSTed to ``root + path`` — as a
form with one field holding the JSON (Keras's default) or as a JSON body — for a dashboard on your own machine or
network. Sent with the standard library (no ``requests`` needed); a server that cannot be reached is a warning, not a
stopped run."""

from __future__ import annotations

import json
import urllib.error
import urllib.parse
import urllib.request
import warnings

import numpy as np

from rnnkit.keras.callbacks import Callback


def _plain(value):
    """A log value as JSON takes it (an array's number, or its list)."""
    if isinstance(value, (np.ndarray, np.generic)):
        return value.item() if value.size == 1 else value.tolist()
    return value


class RemoteMonitor(Callback):
    def __init__(self, root="http://localhost:9000", path="/publish/epoch/end/", field="data", headers=None,
                 send_as_json=False):
        super().__init__()
        self.root, self.path, self.field, self.headers, self.send_as_json = root, path, field, headers, send_as_json

    def on_epoch_end(self, epoch, logs=None):
        send = {"epoch": epoch, **{k: _plain(v) for k, v in (logs or {}).items()}}
        if self.send_as_json:
            body, kind = json.dumps(send).encode(), "application/json"
        else:
            body, kind = urllib.parse.urlencode({self.field: json.dumps(send)}).encode(), \
                "application/x-www-form-urlencoded"
        request = urllib.request.Request(self.root + self.path, data=body, method="POST",
                                         headers={"Content-Type": kind, **(self.headers or {})})
        try:
            with urllib.request.urlopen(request, timeout=10) as response:
                response.read()
        except (urllib.error.URLError, OSError):
            warnings.warn(f"Could not reach RemoteMonitor root server at {self.root}", stacklevel=2)


__all__ = ["RemoteMonitor"]
