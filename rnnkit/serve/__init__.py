"""Serving trained runs: a JSON API and a web page (``rnnkit serve``)."""

from rnnkit.serve.app import create_app

__all__ = ["create_app"]
