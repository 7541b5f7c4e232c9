"""Tables (Markdown, CSV, HTML) and one self-contained HTML report with embedded PNG figures."""

from __future__ import annotations

import base64
import csv
import html
import io
from dataclasses import dataclass, field
from pathlib import Path


def _fmt(v) -> str:
    if isinstance(v, float):
        return f"{v:.4g}"
    return str(v)


def table_markdown(rows: list[dict]) -> str:
    if not rows:
        return "(no rows)\n"
    cols = list(rows[0])
    lines = ["| " + " | ".join(cols) + " |", "|" + "---|" * len(cols)]
    lines += ["| " + " | ".join(_fmt(r.get(c, "")) for c in cols) + " |" for r in rows]
    return "\n".join(lines) + "\n"


def table_csv(rows: list[dict]) -> str:
    if not rows:
        return ""
    buf = io.StringIO()
    w = csv.DictWriter(buf, fieldnames=list(rows[0]))
    w.writeheader()
    for r in rows:
        w.writerow({k: _fmt(v) for k, v in r.items()})
    return buf.getvalue()


def table_html(rows: list[dict]) -> str:
    if not rows:
        return "<p>(no rows)</p>"
    cols = list(rows[0])
    head = "".join(f"<th>{html.escape(c)}</th>" for c in cols)
    body = "".join("<tr>" + "".join(f"<td>{html.escape(_fmt(r.get(c, '')))}</td>" for c in cols) + "</tr>" for r in rows)
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def prepare_out_dir(out: str | Path, force: bool = False) -> Path:
    """Create ``out``; refuse a folder that already holds files unless ``force`` (then same-named files are replaced)."""
    out = Path(out)
    if out.exists() and not out.is_dir():
        raise NotADirectoryError(f"the output folder {out} is a file; choose a folder")
    if out.is_dir() and any(out.iterdir()) and not force:
        raise FileExistsError(f"the output folder {out} is not empty; choose another folder, or pass --force "
                              "(force=True) to write into it (files of the same name are replaced)")
    out.mkdir(parents=True, exist_ok=True)
    return out


def write_tables(out: Path, name: str, rows: list[dict]) -> None:
    (out / f"{name}.md").write_text(table_markdown(rows), encoding="utf-8")
    (out / f"{name}.csv").write_text(table_csv(rows), encoding="utf-8")


@dataclass
class Section:
    title: str
    intro: str
    figures: list[Path | tuple[Path, str]] = field(default_factory=list)  # a figure, or (figure, caption)
    tables: list[list[dict]] = field(default_factory=list)
    conclusion: str = ""


STYLE = """body{font-family:system-ui,sans-serif;max-width:980px;margin:2em auto;padding:0 1em;color:#222}
h1{font-size:1.6em}h2{font-size:1.25em;margin-top:2em;border-bottom:1px solid #ddd}
img{max-width:100%;height:auto;border:1px solid #eee}figure{margin:1em 0}
.table{overflow-x:auto}table{border-collapse:collapse;margin:1em 0;font-size:.9em}
td,th{border:1px solid #ccc;padding:.25em .6em;text-align:right}th{background:#f4f4f4}
.conclusion{background:#eef6ee;border-left:4px solid #5a5;padding:.5em 1em;margin:1em 0}.meta{color:#777;font-size:.85em}"""


def write_html(path: Path, title: str, intro: str, sections: list[Section], meta: str = "") -> Path:
    parts = [f"<!doctype html><html lang='en'><head><meta charset='utf-8'>"
             "<meta name='viewport' content='width=device-width, initial-scale=1'>"
             f"<title>{html.escape(title)}</title>",
             f"<style>{STYLE}</style></head><body><h1>{html.escape(title)}</h1><p>{html.escape(intro)}</p>"]
    for i, s in enumerate(sections, 1):
        parts.append(f"<section id='s{i}'><h2>{i}. {html.escape(s.title)}</h2><p>{html.escape(s.intro)}</p>")
        for fig in s.figures:
            fig, caption = fig if isinstance(fig, tuple) else (fig, s.title)
            data = base64.b64encode(Path(fig).read_bytes()).decode()
            parts.append(f"<figure><img alt='{html.escape(caption)}' src='data:image/png;base64,{data}'>"
                         f"<figcaption>{html.escape(caption)} <span class='meta'>({html.escape(Path(fig).name)})"
                         "</span></figcaption></figure>")
        for rows in s.tables:
            parts.append(f"<div class='table'>{table_html(rows)}</div>")  # a wide table scrolls, not the page
        if s.conclusion:
            parts.append(f"<p class='conclusion'><b>Conclusion (computed from this run):</b> "
                         f"{html.escape(s.conclusion)}</p>")
        parts.append("</section>")
    parts.append(f"<p class='meta'>{html.escape(meta)}</p></body></html>")
    path.write_text("".join(parts), encoding="utf-8")
    return path
