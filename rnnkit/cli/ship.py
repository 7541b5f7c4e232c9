"""``rnnkit export`` and ``rnnkit serve``: a trained run as ONNX graphs, or behind an HTTP API and a web page."""

from __future__ import annotations

from pathlib import Path

import typer

from rnnkit.cli.common import USER_ERRORS, fail


def export(run_dir: Path = typer.Argument(..., help="a run folder written by 'rnnkit train' (any task)"),
           out: Path = typer.Option(..., "--out", help="folder for the .onnx graphs, manifest.json and the tokenizer"),
           format: str = typer.Option("onnx", "--format", help="the export format (onnx)"),
           force: bool = typer.Option(False, "--force", help="write into --out even if it holds files")) -> None:
    """Export a run's models as ONNX graphs with the recurrent state as explicit inputs/outputs, checked in
    onnxruntime against torch before they are kept."""
    from rnnkit.export import ExportError, export_run

    if format != "onnx":
        raise fail(f"--format {format!r}: the only export format is 'onnx'")
    try:
        manifest = export_run(run_dir, out, force=force, progress=typer.echo)
    except (*USER_ERRORS, ExportError) as e:
        raise fail(e) from None
    for g in manifest["graphs"].values():
        ins = ", ".join(f"{i['name']}{i['shape']}" for i in g["inputs"])
        outs = ", ".join(f"{o['name']}{o['shape']}" for o in g["outputs"])
        typer.echo(f"{out / g['file']}: {ins} -> {outs}")
    typer.echo(f"manifest: {out / 'manifest.json'} (opset {manifest['opset']})")


def serve(run_dirs: list[Path] = typer.Argument(..., help="run folders to serve (any tasks); each is named by its folder"),
          host: str = typer.Option("127.0.0.1", help="address to listen on (127.0.0.1: this machine only)"),
          port: int = typer.Option(8000, min=0, max=65535, help="port to listen on"),
          max_queue: int = typer.Option(64, min=0, help="requests that may wait for the model; more get 503"),
          max_body: int = typer.Option(1 << 20, min=1024, help="largest request body in bytes; larger gets 413")) -> None:
    """Serve trained runs: a JSON API (/v1/models, /docs), streaming generation, and a web page at /."""
    import uvicorn

    from rnnkit.serve import create_app

    try:
        app = create_app(run_dirs, max_queue=max_queue, max_body=max_body)
    except USER_ERRORS as e:
        raise fail(e) from None
    typer.echo(f"serving {', '.join(app.state.models)} on http://{host}:{port}/ (API docs at /docs)")
    uvicorn.run(app, host=host, port=port, log_level="info")


def register(app: typer.Typer) -> None:
    app.command()(export)
    app.command()(serve)
