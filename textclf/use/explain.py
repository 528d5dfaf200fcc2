"""``textclf explain``: attributions (:mod:`.attributions`) for texts or the rows of a file, shown in the
terminal with coloured words and as a self-contained HTML page.

The page has no scripts and no external resources, and every text in it is escaped.
"""

from __future__ import annotations

import html
import os
from dataclasses import dataclass
from pathlib import Path

from ..errors import UsageError
from ..io.files import atomic_write
from ..io.tables import iter_chunks, read_columns
from ..model.tokens import is_separator
from ..run.outputs import check_output
from .attributions import Explanation


def explain_run(
    model,
    texts: list[str] | None = None,
    input: str | os.PathLike | None = None,
    *,
    limit: int = 20,
    text_column: str | None = None,
    encoding: str = "utf-8",
    label: str | None = None,
    measure: str = "logodds",
    threshold: float | None = None,
    html: str | os.PathLike | None = None,
) -> list[Explanation]:
    """``textclf explain``: explain ``texts``, or the first ``limit`` rows of the file ``input``; with ``html``,
    also write the HTML page. The output path is checked before the model is loaded."""
    from ..io.tables import check_file, file_format
    from .classifier import Classifier

    if bool(texts) == bool(input):
        raise UsageError(
            'give the texts to explain with --text "..." (repeatable) or --input FILE, not both'
            if texts
            else 'give a text to explain with --text "...", or a file with --input FILE'
        )
    if html is not None:
        check_output(html, "--html", inputs=[("the input file", input)] if input else [], example="explain.html")
    if input:
        from ..io.tables import check_columns
        from ..run.directory import run_columns

        check_file(input, "--input file")
        file_format(input)
        column = text_column or (model.text_column if isinstance(model, Classifier) else run_columns(model)[0])
        if column is not None:
            check_columns(input, [("--text-column", column)], encoding)  # before the model is loaded
    clf = model if isinstance(model, Classifier) else Classifier.load(model)
    rows = FileRows(list(texts or []), None, None)
    if input:
        rows = read_texts(input, text_column or clf.text_column, limit, encoding, clf.label_column)
    results = clf.explain(rows.texts, label=label, measure=measure, threshold=threshold, lines=rows.lines)
    for exp, true in zip(results, rows.true or []):
        exp.true = true
    if html is not None:
        write_html(
            results,
            html,
            title=f"textclf explain: {model if not isinstance(model, Classifier) else clf.path}",
            inputs=[input] if input else [],
        )
    return results


@dataclass
class FileRows:
    """The texts to explain; with a file, each one's line and, when the file has them, its true label.

    ``lines`` are the file's own lines, or the values of its ``line`` column when it has one (an errors file of
    ``textclf eval``: the lines of the evaluated file). ``true`` comes from a ``true`` column (an errors file) or
    the run's label column."""

    texts: list[str]
    lines: list[int] | None
    true: list[str] | None


def read_texts(
    path: str | os.PathLike, column: str, limit: int = 20, encoding: str = "utf-8", label_column: str | None = None
) -> FileRows:
    """The first ``limit`` texts of a .csv/.tsv/.jsonl/.parquet file's ``column``, their lines and true labels.

    A missing column is a :class:`~textclf.errors.DataError` that names the columns found.
    """
    header = read_columns(path, encoding) or []
    source = "line" if "line" in header and column != "line" else None
    truth = next((c for c in ("true", label_column) if c and c in header and c != column), None)
    columns = [column] + [c for c in (source, truth) if c]
    texts: list[str] = []
    lines: list[int] = []
    true: list[str] = []
    sources: list[str] = []
    chunks = iter_chunks(path, columns, encoding=encoding, chunk_rows=max(1, min(limit, 8192)), texts=[column])
    for chunk in chunks:
        take = limit - len(texts)
        texts += chunk.frame[column].tolist()[:take]
        lines += chunk.lines[:take]
        true += chunk.frame[truth].tolist()[:take] if truth else []
        sources += chunk.frame[source].tolist()[:take] if source else []
        if len(texts) >= limit:
            break
    if sources and all(v.strip().isdigit() for v in sources):
        lines = [int(v) for v in sources]  # the evaluated file's lines, not the errors file's
    return FileRows(texts, lines, true if truth else None)


# --------------------------------------------------------------------------------------------------
# Rendering


def _clean(text: str) -> str:
    """Control characters (an escape sequence could drive the terminal) shown as spaces."""
    return "".join(" " if is_separator(c) and c != " " else c for c in text)


def _strength(exp: Explanation) -> float:
    return max((abs(s) for s in exp.scores if s is not None), default=0.0)


def _fmt(score: float) -> str:
    return f"{score:+.3f}"


def header(exp: Explanation) -> str:
    """``sports (p=0.873)``, plus what is explained when it is not the prediction."""
    where = f"line {exp.line}" if exp.line is not None else f"text {exp.index + 1}"
    truth = f"true {exp.true or '(no label)'}, " if exp.true is not None else ""
    head = f"{where}: {truth}prediction {exp.prediction or '(no label)'} (confidence {exp.confidence:.3f})"
    if not exp.predicted or exp.label != exp.prediction:
        head += f"; explaining {exp.label} (p={exp.prob:.3f}{'' if exp.predicted else ', not predicted'})"
    return head


def notes(exp: Explanation) -> list[str]:
    out = []
    if not exp.tokens:
        out.append("empty text: no words to attribute")
    if exp.truncated:
        out.append(
            f"only the first {exp.scored:,} of {len(exp.tokens):,} words are scored: the model's LSTM reads "
            f"the first {exp.sequence_length:,} tokens (model.sequence_length); the rest are not coloured"
        )
    return out


def format_terminal(exp: Explanation, *, color: bool = True, top: int = 5, max_rest_chars: int = 200) -> str:
    """The text with its words coloured (green towards the label, red against; bold when strong, dim when
    weak), and the top words with their scores. With ``color=False``, plain text."""
    import click

    peak = _strength(exp)
    parts: list[str] = []
    pos = 0
    for (s, e), score in zip(exp.spans, exp.scores):
        if score is None:
            break
        parts.append(_clean(exp.text[pos:s]))
        word = _clean(exp.text[s:e])
        r = abs(score) / peak if peak > 0 else 0.0
        if color and r >= 0.1:
            fg = ("bright_green" if r >= 0.7 else "green") if score > 0 else ("bright_red" if r >= 0.7 else "red")
            word = click.style(word, fg=fg, bold=r >= 0.7, dim=r < 0.35)
        parts.append(word)
        pos = e
    rest = _clean(exp.text[pos:])
    if exp.truncated and len(rest) > max_rest_chars:
        rest = rest[:max_rest_chars] + f" ... [{len(exp.text) - pos - max_rest_chars:,} more characters]"
    parts.append(rest)
    lines = [header(exp), "  " + ("".join(parts).strip() or "(empty)")]
    unit = "probability" if exp.measure == "prob" else "log-odds"
    if top and exp.tokens:
        shown = lambda pairs: ", ".join(f"{_clean(t)!r} {_fmt(s)}" for t, s in pairs if abs(s) >= 5e-4) or "(none)"  # noqa: E731
        lines.append(f"  towards {exp.label} ({unit} drop without the word): {shown(exp.top(top, 1))}")
        lines.append(f"  against {exp.label}: {shown(exp.top(top, -1))}")
    lines += [f"  note: {n}" for n in notes(exp)]
    return "\n".join(lines)


_CSS = """body{font-family:system-ui,sans-serif;max-width:60rem;margin:2rem auto;padding:0 1rem;color:#222}
h1{font-size:1.3rem}h2{font-size:1rem;margin-bottom:.3rem}
.text{line-height:1.9;white-space:pre-wrap;border:1px solid #ddd;padding:.6rem;border-radius:4px}
.w{border-radius:3px;padding:0 1px}.rest{color:#999}
.legend span{display:inline-block;padding:0 .5rem;margin-right:.2rem;border-radius:3px}
table{border-collapse:collapse;margin:.4rem 0 1.5rem}td,th{padding:.1rem .6rem;text-align:left}
td.n{text-align:right;font-variant-numeric:tabular-nums}.note{color:#a60}"""


def _bg(score: float, peak: float) -> str:
    r = min(abs(score) / peak, 1.0) if peak > 0 else 0.0
    rgb = "0,160,60" if score > 0 else "220,40,40"
    return f"background:rgba({rgb},{0.08 + 0.72 * r:.2f})" if r >= 0.02 else ""


def to_html(explanations: list[Explanation], *, title: str = "textclf explain", top: int = 5) -> str:
    """A self-contained HTML page (no scripts, no external resources; every text escaped) with the words
    coloured by their scores, a legend, and the top words of each explanation."""
    esc = lambda s: html.escape(_clean(str(s)), quote=True)  # noqa: E731  (one-line texts)
    piece = lambda s: html.escape(_text_piece(s), quote=True)  # noqa: E731  (the text itself, newlines kept)
    measure = explanations[0].measure if explanations else "prob"
    unit = "probability" if measure == "prob" else "log-odds"
    out = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src 'unsafe-inline'\">",
        f"<title>{esc(title)}</title><style>{_CSS}</style></head><body>",
        f"<h1>{esc(title)}</h1>",
        '<p class="legend">Legend: <span style="background:rgba(0,160,60,0.8)">strongly towards</span>'
        '<span style="background:rgba(0,160,60,0.3)">towards</span><span>neutral</span>'
        '<span style="background:rgba(220,40,40,0.3)">against</span>'
        '<span style="background:rgba(220,40,40,0.8)">strongly against</span> the explained label. '
        f"A word's score is the drop in the label's {unit} when the word is removed from the text (occlusion); "
        "the colour's strength is relative to the strongest word of the same text. Hover a word for its "
        "score.</p>",
    ]
    for exp in explanations:
        peak = _strength(exp)
        out.append(f"<section><h2>{esc(header(exp))}</h2>")
        body, pos = [], 0
        for (s, e), score in zip(exp.spans, exp.scores):
            if score is None:
                break
            body.append(piece(exp.text[pos:s]))
            style = _bg(score, peak)
            attr = f' style="{style}"' if style else ""
            body.append(f'<span class="w"{attr} title="{_fmt(score)}">{piece(exp.text[s:e])}</span>')
            pos = e
        rest = exp.text[pos:]
        body.append(f'<span class="rest">{piece(rest)}</span>' if exp.truncated else piece(rest))
        out.append(f'<p class="text">{"".join(body) or "&nbsp;"}</p>')
        for n in notes(exp):
            out.append(f'<p class="note">{esc(n)}</p>')
        if top and exp.tokens:
            rows = [("towards", t, s) for t, s in exp.top(top, 1)] + [("against", t, s) for t, s in exp.top(top, -1)]
            if rows:
                out.append(f"<table><tr><th></th><th>word</th><th>{esc(unit)} drop</th></tr>")
                out += [f'<tr><td>{d}</td><td>{esc(t)}</td><td class="n">{_fmt(s)}</td></tr>' for d, t, s in rows]
                out.append("</table>")
        out.append("</section>")
    out.append("</body></html>")
    return "\n".join(out) + "\n"


def _text_piece(s: str) -> str:
    """Text for an HTML page: newlines and tabs kept (pre-wrap), other control characters as spaces."""
    return "".join(c if c in "\n\t " or not is_separator(c) else " " for c in s)


def write_html(
    explanations: list[Explanation],
    path: str | os.PathLike,
    *,
    title: str = "textclf explain",
    top: int = 5,
    inputs: tuple = (),
) -> Path:
    """Write :func:`to_html` to ``path`` atomically (checked as an output of a command reading ``inputs``)."""
    p = check_output(path, "--html", inputs=inputs, example="explain.html")
    with atomic_write(p, "w", encoding="utf-8") as f:
        f.write(to_html(explanations, title=title, top=top))
    return p
