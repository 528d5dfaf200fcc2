"""The ``textclf`` command: parse the arguments, call one library function, format its result.

Errors are mapped to exit codes in one place, :class:`TextclfGroup` (0 ok, 1 internal error, 2 usage or
config, 3 data, 4 model rejected, 5 out of memory or disk, 6 training diverged, 130 interrupted, 143
terminated): one message without a traceback; ``--debug`` shows the traceback. The library logs through
:mod:`logging`; here its lines go to the terminal (train's to stdout, the others' to stderr). Nothing here
imports TensorFlow at start-up.
"""

from __future__ import annotations

import errno
import logging
import os
import signal
import sys
import threading
import traceback

import click

from . import __version__
from .errors import EXIT_INTERNAL, EXIT_RESOURCE, EXIT_SIGINT, EXIT_SIGTERM, EXIT_USAGE, Terminated, TextclfError

EXIT_CODES_HELP = """\b
Exit codes: 0 ok, 1 internal error, 2 usage or config, 3 data, 4 model rejected,
5 out of memory or disk, 6 training diverged, 130/143 interrupted."""

OUT_OF_MEMORY = (
    "out of memory; lower train.batch_size or model.sequence_length (or --batch-size for predict and "
    "eval), or make the model smaller (model.units, model.embedding_dim, model.ngram_max_tokens). "
    "A checkpoint written before, if any, is intact: resume with textclf train --resume RUN_DIR"
)
LOG_TO_STDOUT = {"train", "tune"}  # commands whose progress lines are their output


def error_exit(exc: BaseException) -> tuple[str, int] | None:
    """The message and exit code of an exception that ends a command; None for click's own exceptions."""
    if isinstance(exc, (click.exceptions.ClickException, click.exceptions.Exit, click.exceptions.Abort, SystemExit)):
        return None
    if isinstance(exc, TextclfError):
        return str(exc), exc.exit_code
    if isinstance(exc, KeyboardInterrupt):
        return "interrupted", EXIT_SIGINT
    if isinstance(exc, Terminated):
        return "terminated (SIGTERM); nothing was left half-written", EXIT_SIGTERM
    if isinstance(exc, MemoryError) or type(exc).__name__ == "ResourceExhaustedError":
        if any(m in str(exc) for m in ("No space left on device", "File too large", "Disk quota exceeded")):
            return (
                f"no space left on the disk ({' '.join(str(exc).split())[:200]}); free some space and run again",
                EXIT_RESOURCE,
            )
        return OUT_OF_MEMORY, EXIT_RESOURCE
    if isinstance(exc, OSError) and exc.errno in (errno.ENOSPC, errno.EDQUOT):
        where = f" while writing {exc.filename}" if exc.filename else ""
        return f"no space left on the disk{where} ({exc.strerror}); free some space and run again", EXIT_RESOURCE
    if isinstance(exc, OSError) and exc.errno in (errno.EACCES, errno.EPERM, errno.EROFS) and exc.filename:
        return (
            f"cannot access {exc.filename}: {exc.strerror}; check the path and its permissions, or choose another",
            EXIT_USAGE,
        )
    return (
        f"internal error: {type(exc).__name__}: {exc} (run with --debug for the traceback, and please report it)",
        EXIT_INTERNAL,
    )


class _ClickHandler(logging.Handler):
    """The library's log lines on the terminal: stdout for train (its progress is its output), else stderr."""

    def emit(self, record: logging.LogRecord) -> None:
        ctx = click.get_current_context(silent=True)
        click.echo(self.format(record), err=ctx is None or ctx.info_name not in LOG_TO_STDOUT)


class TextclfGroup(click.Group):
    """The command group: sets up logging and turns every failure into one message and an exit code."""

    def invoke(self, ctx: click.Context):
        logger = logging.getLogger("textclf")
        handler = _ClickHandler()
        logger.addHandler(handler)
        logger.setLevel(logging.INFO)
        logger.propagate = False
        previous = _on_sigterm(_terminate)
        try:
            return super().invoke(ctx)
        except BaseException as exc:  # noqa: BLE001 - the one place where failures become exit codes
            mapped = error_exit(exc)
            if mapped is None:
                raise
            if ctx.params.get("debug"):
                traceback.print_exc()
            click.echo(f"error: {mapped[0]}", err=True)
            sys.exit(mapped[1])
        finally:
            logger.removeHandler(handler)
            _on_sigterm(previous)


def _terminate(signum, frame) -> None:
    """SIGTERM: unwind like Ctrl-C, so that every temporary file is removed on the way out (exit 143)."""
    raise Terminated()


def _on_sigterm(handler):
    """Install a SIGTERM handler (in the main thread only); returns the previous one."""
    if handler is None or threading.current_thread() is not threading.main_thread():
        return None
    return signal.signal(signal.SIGTERM, handler)


class ShardType(click.ParamType):
    """``I/N``: the I-th of N contiguous slices, 1 <= I <= N."""

    name = "I/N"

    def convert(self, value, param, ctx):
        if isinstance(value, tuple):
            return value
        parts = str(value).split("/")
        if len(parts) == 2 and all(p.strip().isdigit() for p in parts):
            index, count = int(parts[0]), int(parts[1])
            if count >= 1 and 1 <= index <= count:
                return index, count
        from .errors import UsageError

        raise UsageError(
            f"--shard: received {value!r}, expected I/N with 1 <= I <= N, such as 1/4 (the first of 4 slices)"
        )


class _FiniteNumber(click.ParamType):
    """A finite number (NaN and infinity refused) that ``accepts``; ``expected`` says which, in the message."""

    name = "FLOAT"
    expected = "a finite number"

    def accepts(self, number: float) -> bool:
        return True

    def convert(self, value, param, ctx):
        import math

        from .errors import UsageError

        try:
            number = float(value)
        except (TypeError, ValueError):
            number = math.nan
        if not (math.isfinite(number) and self.accepts(number)):
            raise UsageError(f"{param.opts[0]}: received {value!r}, expected {self.expected}")
        return number


class Fraction(_FiniteNumber):
    """A number from 0 to 1, for --threshold and --max-bad-fraction."""

    expected = "a number from 0 to 1"

    def accepts(self, number: float) -> bool:
        return 0.0 <= number <= 1.0


class Seconds(_FiniteNumber):
    """A positive number of seconds."""

    name = "SECONDS"
    expected = "a positive number of seconds"

    def accepts(self, number: float) -> bool:
        return number > 0


class Encoding(click.ParamType):
    """A text encoding Python knows (checked before anything is read or loaded)."""

    name = "ENCODING"

    def convert(self, value, param, ctx):
        from .config.schema import encoding_problem
        from .errors import UsageError

        problem = encoding_problem(value, param.opts[0])
        if problem:
            raise UsageError(problem)
        return value


# Options that several commands share, defined once so that their checks and wording cannot drift apart.
model_option = click.option("--model", "model_dir", required=True, help="A run directory written by `textclf train`.")
threshold_option = click.option(
    "--threshold",
    type=Fraction(),
    default=None,
    help="One decision threshold for every label of a binary or multi-label model (default: the thresholds tuned "
    "on validation when the run has them, else 0.5).",
)


def encoding_option(help: str):
    return click.option("--encoding", type=Encoding(), default="utf-8", show_default=True, help=help)


class Columns(click.ParamType):
    """Comma-separated column names, each named once."""

    name = "COL,..."

    def convert(self, value, param, ctx):
        if isinstance(value, list):
            return value
        from collections import Counter

        from .errors import UsageError

        names = [c.strip() for c in str(value).split(",") if c.strip()]
        twice = [c for c, n in Counter(names).items() if n > 1]
        if twice:
            raise UsageError(f"{param.opts[0]}: column {twice[0]!r} is named more than once; name each column once")
        return names


class Progress:
    """A progress bar on stderr for long predict/eval runs (only when stderr is a terminal).

    Called as ``progress(done, total)``, or ``progress(done, total, rows)`` where the bar advances by the input's
    position (lines) and shows the data rows done, which differ when texts span lines."""

    def __init__(self, label: str):
        self.label, self.bar, self.shown = label, None, 0

    @classmethod
    def on_terminal(cls, label: str) -> Progress | None:
        return cls(label) if sys.stderr.isatty() else None

    def __call__(self, done: int, total: int, rows: int | None = None) -> None:
        if total <= 0:
            return
        if self.bar is None:
            self.bar = click.progressbar(
                length=total,
                label=self.label,
                file=sys.stderr,
                show_pos=rows is None,
                show_eta=True,
                width=30,
                item_show_func=lambda n: f"{n:,} rows" if n is not None else None,
            )
            self.bar.__enter__()
        self.bar.update(max(done - self.shown, 0), rows)
        self.shown = max(done, self.shown)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.__exit__(None, None, None)
            self.bar = None


@click.group(
    cls=TextclfGroup,
    context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100},
    epilog=EXIT_CODES_HELP,
)
@click.option("--debug", is_flag=True, help="Show the full traceback of an error.")
@click.version_option(__version__, prog_name="textclf")
def main(debug: bool) -> None:
    """Train, evaluate and use Keras LSTM text classifiers from a YAML config.

    \b
    Example:
        textclf train --config configs/demo.yaml
        textclf predict --model runs/demo-... --input data/test.csv --output preds.csv
        textclf eval --model runs/demo-... --data data/test.csv
    """
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    os.environ["TEXTCLF_QUIET"] = "0" if debug else "1"  # textclf.runtime: TensorFlow's native log lines to a file


@main.command()
@click.option(
    "--config",
    "config_path",
    type=click.Path(readable=False, dir_okay=False),
    default=None,
    help="YAML config file (see configs/default.yaml). Optional with --resume.",
)
@click.option(
    "--set",
    "overrides",
    multiple=True,
    metavar="SECTION.KEY=VALUE",
    help="Override a config key; the value is parsed as YAML. Repeatable.",
)
@click.option(
    "--run-dir",
    type=click.Path(readable=False, file_okay=False),
    default=None,
    help="Write the run here (must not exist or be empty). Default: a new folder under runs/.",
)
@click.option(
    "--resume",
    "resume_dir",
    type=click.Path(readable=False, file_okay=False),
    default=None,
    help="Continue an interrupted run from its last complete checkpoint.",
)
@click.option(
    "--device", type=click.Choice(["auto", "cpu", "gpu"]), default=None, help="Where to train; overrides train.device."
)
@click.option(
    "--on-bad-rows",
    type=click.Choice(["error", "skip"]),
    default=None,
    help="Fail on unreadable rows, or skip and list them (sets data.on_bad_rows).",
)
def train(config_path, overrides, run_dir, resume_dir, device, on_bad_rows) -> None:
    """Train a classifier and write a self-contained run directory.

    The last line of output is the run directory's path. SIGTERM or Ctrl-C stops at the next batch and
    keeps the last checkpoint; --resume continues from it.

    \b
    Example:
        textclf train --config configs/demo.yaml
        textclf train --config configs/binary.yaml --set data.train=spam.csv --set train.epochs=5
        textclf train --config configs/demo.yaml --run-dir runs/demo-1 --device cpu
        textclf train --resume runs/demo-1
    """
    from .config import load_config
    from .errors import UsageError

    overrides = list(overrides) + ([f"data.on_bad_rows={on_bad_rows}"] if on_bad_rows else [])
    if config_path is None and resume_dir is None:
        raise UsageError("give --config FILE (or --resume RUN_DIR to continue an interrupted run)")
    if resume_dir is not None and run_dir is not None:
        raise UsageError("--resume continues a run in its own directory; leave out --run-dir")
    cfg = load_config(config_path, overrides) if config_path else None  # before TensorFlow: all config errors
    from .training import train as train_run

    run = train_run(cfg, run_dir=run_dir, device=device, resume=resume_dir, overrides=overrides if cfg is None else ())
    click.echo(str(run))


@main.command(name="tune")
@click.option(
    "--config",
    "config_path",
    type=click.Path(readable=False, dir_okay=False),
    default=None,
    help="YAML config file; its tune: section is the search (see configs/default.yaml). Optional with --resume.",
)
@click.option(
    "--set",
    "overrides",
    multiple=True,
    metavar="SECTION.KEY=VALUE",
    help="Override a config key, e.g. --set tune.space.model.units=[32,64]. Repeatable.",
)
@click.option("--budget", default=None, metavar="TIME", help="Wall time for the search: 90s, 20m or 1.5h.")
@click.option("--trials", type=int, default=None, metavar="N", help="The most trials this command runs.")
@click.option(
    "--study",
    "study_dir",
    type=click.Path(readable=False, file_okay=False),
    default=None,
    help="The study folder (its name is the study's name). Default: a new folder under studies/.",
)
@click.option("--resume", is_flag=True, help="Continue the study in --study DIR, or join the processes working on it.")
@click.option(
    "--storage", default=None, metavar="URL", help="An Optuna database to share the study, e.g. postgresql://..."
)
@click.option("--keep-runs", is_flag=True, help="Keep every trial's run directory, not only the best one's.")
def tune_cmd(config_path, overrides, budget, trials, study_dir, resume, storage, keep_runs) -> None:
    """Search hyperparameters with Optuna: each trial trains a run (needs: pip install 'textclf[tune]').

    Each trial sets the keys of tune.space, trains without the test file, and reports every epoch's validation
    figure, so that weak trials are pruned early. One line per trial; the last line is the best run directory.
    The study folder gets best.yaml (textclf train --config best.yaml trains it again), trials.csv, the plots
    and test_metrics.json (the test file, evaluated once on the best run). When the budget runs out, the trial
    running stops at its next epoch and counts with its best epoch. SIGTERM or Ctrl-C stops it; --resume
    continues without repeating finished trials.

    \b
    Example:
        textclf tune --config configs/demo.yaml --budget 20m
        textclf tune --config configs/demo.yaml --trials 30 --study studies/demo --set tune.pruner=none
        textclf tune --study studies/demo --resume --budget 1h
        textclf tune --config C --study studies/demo --storage postgresql://user@db/optuna --budget 2h
    """
    from .config import load_config
    from .tuning import check_optuna, parse_budget, tune

    check_optuna()  # before anything else: without the extra, one line that says how to install it
    seconds = parse_budget(budget) if budget is not None else None
    cfg = load_config(config_path, overrides) if config_path else None
    if cfg is None and overrides:
        from .errors import UsageError

        raise UsageError("--set changes the config: give --config FILE with it")
    result = tune(cfg, study_dir, budget=seconds, trials=trials, storage=storage, resume=resume, keep_runs=keep_runs)
    click.echo(str(result.best_run))


@main.command()
@model_option
@click.option(
    "--input",
    "input_path",
    required=True,
    type=click.Path(readable=False, dir_okay=False),
    help="File to score (.csv, .tsv, .jsonl, .parquet).",
)
@click.option(
    "--output", "output_path", required=True, type=click.Path(readable=False, dir_okay=False), help="CSV file to write."
)
@click.option(
    "--keep-columns", type=Columns(), default="", help="Input columns (ids) to copy to the output, comma-separated."
)
@click.option("--text-column", default=None, help="Text column (default: the one the model was trained on).")
@click.option("--top-k", type=click.IntRange(0, None), default=0, help="Also write the K most probable labels.")
@click.option("--batch-size", type=click.IntRange(1, None), default=512, show_default=True, help="Rows per model call.")
@threshold_option
@encoding_option("Text encoding of the input.")
@click.option(
    "--no-safe-csv",
    is_flag=True,
    help="Do not prefix echoed input text (the kept columns) that starts with = + - @ with ' (the prefix stops "
    "spreadsheets from running it as a formula; labels and predictions are never prefixed).",
)
@click.option(
    "--on-bad-rows",
    type=click.Choice(["error", "skip"]),
    default="error",
    show_default=True,
    help="Stop at an unreadable row, or skip it: then a `line` column joins output to input and "
    "the skipped rows go to OUTPUT.rejects.csv.",
)
@click.option(
    "--max-bad-fraction",
    type=Fraction(),
    default=0.01,
    show_default=True,
    help="With --on-bad-rows skip: fail if more than this share of rows is unreadable.",
)
@click.option(
    "--shard",
    type=ShardType(),
    default=None,
    help="Score only the I-th of N contiguous slices of the input (1 <= I <= N), for N parallel jobs; "
    "the shards' rows concatenated in order equal one unsharded run.",
)
@click.option(
    "--line-numbers",
    is_flag=True,
    help="Add a first `line` column: each row's line in the input (for a row that spans lines, its first), to "
    "join the output back to the input. Always there with --on-bad-rows skip.",
)
def predict(model_dir, input_path, output_path, no_safe_csv, **options) -> None:
    """Write labels and probabilities for every row of a file, in constant memory.

    Columns: [line], the kept columns (copied unchanged), prediction, confidence, [topK, topK_p ...], p_<class>
    for each class. Every output row comes from one input row, in order; --line-numbers says which.

    \b
    Example:
        textclf predict --model runs/demo-20261128-120000 --input data/test.csv --output preds.csv
        textclf predict --model RUN --input new.jsonl --output out.csv --keep-columns id,text --top-k 3
        textclf predict --model RUN --input big.csv --output part-2.csv --shard 2/8 --line-numbers
    """
    from .use.prediction import predict_file

    bar = Progress.on_terminal("predict")  # no bar: no row count either
    try:
        summary = predict_file(model_dir, input_path, output_path, safe_csv=not no_safe_csv, progress=bar, **options)
    finally:
        if bar is not None:
            bar.close()
    for note in summary.notes():
        click.echo(note, err=True)
    click.echo(str(summary))


@main.command(name="eval")
@model_option
@click.option(
    "--data",
    "data_path",
    required=True,
    type=click.Path(readable=False, dir_okay=False),
    help="Labeled file to evaluate on.",
)
@click.option(
    "--output",
    "output_path",
    type=click.Path(readable=False, dir_okay=False),
    default=None,
    help="Also write the metrics as JSON.",
)
@click.option("--text-column", default=None, help="Text column (default: the one the model was trained on).")
@click.option("--label-column", default=None, help="Label column (default: the one the model was trained on).")
@click.option("--ignore-unseen", is_flag=True, help="Leave out labels the model never saw instead of failing.")
@click.option("--batch-size", type=click.IntRange(1, None), default=512, show_default=True, help="Rows per model call.")
@encoding_option("Text encoding of the data file.")
@threshold_option
@click.option(
    "--errors",
    "errors_path",
    type=click.Path(readable=False, dir_okay=False),
    default=None,
    help="Write the misclassified rows (line, the kept columns, the text under its own column name, true, "
    "predicted, confidence) to this CSV, most confident mistakes first; `textclf explain --input` reads it as is.",
)
@click.option(
    "--keep-columns",
    type=Columns(),
    default="",
    help="With --errors: data columns (ids) to copy into it, comma-separated.",
)
@click.option(
    "--no-plots",
    is_flag=True,
    help="Do not draw the confusion matrix into RUN/evaluations/<data name>/confusion_matrix.png.",
)
def eval_(
    model_dir,
    data_path,
    output_path,
    text_column,
    label_column,
    ignore_unseen,
    batch_size,
    encoding,
    threshold,
    errors_path,
    keep_columns,
    no_plots,
) -> None:
    """Report accuracy, per-class precision/recall/F1 and the confusion matrix.

    The confusion matrix is also drawn as a PNG into the run directory, under evaluations/ (outside the
    run's manifest; a read-only run is left alone).

    \b
    Example:
        textclf eval --model runs/demo-20261128-120000 --data data/test.csv
        textclf eval --model RUN --data test.csv --errors mistakes.csv --keep-columns id --output metrics.json
        textclf explain --model RUN --input mistakes.csv
        textclf eval --model RUN --data test.csv --threshold 0.3 --ignore-unseen
    """
    from .use.evaluation import evaluate_file
    from .use.metrics import format_report

    bar = Progress.on_terminal("eval")  # no bar: no row count either
    try:
        result = evaluate_file(
            model_dir,
            data_path,
            text_column=text_column,
            label_column=label_column,
            output=output_path,
            ignore_unseen=ignore_unseen,
            batch_size=batch_size,
            encoding=encoding,
            threshold=threshold,
            errors=errors_path,
            keep_columns=keep_columns,
            plots=not no_plots,
            progress=bar,
        )
    finally:
        if bar is not None:
            bar.close()
    click.echo(format_report(result))
    if output_path:
        click.echo(f"\nwrote {output_path}")


@main.command(name="explain")
@model_option
@click.option("--text", "texts", multiple=True, help="A text to explain. Repeatable.")
@click.option(
    "--input",
    "input_path",
    type=click.Path(readable=False, dir_okay=False),
    default=None,
    help="Explain the first rows of this file instead (.csv, .tsv, .jsonl, .parquet).",
)
@click.option(
    "--limit",
    type=click.IntRange(1, None),
    default=20,
    show_default=True,
    help="With --input: how many rows to explain.",
)
@click.option("--text-column", default=None, help="With --input: the text column (default: the run's).")
@encoding_option("With --input: its text encoding.")
@click.option(
    "--label", default=None, help="Explain this label (default: the prediction; for multi-label, each predicted label)."
)
@click.option(
    "--measure",
    type=click.Choice(["logodds", "prob"]),
    default="logodds",
    show_default=True,
    help="Score a word by the drop in the label's log-odds (which still separates words when the "
    "model is sure), or in its probability, without it.",
)
@threshold_option
@click.option(
    "--top",
    type=click.IntRange(0, None),
    default=5,
    show_default=True,
    help="How many words to list towards and against the label.",
)
@click.option(
    "--html",
    "html_path",
    type=click.Path(readable=False, dir_okay=False),
    default=None,
    help="Also write a self-contained HTML page with the coloured words.",
)
@click.option(
    "--no-color",
    is_flag=True,
    help="No colours in the terminal (also when NO_COLOR is set or the output is not a terminal).",
)
def explain_cmd(
    model_dir, texts, input_path, limit, text_column, encoding, label, measure, threshold, top, html_path, no_color
) -> None:
    """Show which words made the model decide, by occlusion.

    Each word is removed in turn and the text scored again; a word's score is how much the label's
    log-odds (or, with --measure prob, its probability) drops without it. Green words push towards the
    label, red against it; stronger colour, larger effect. Only the first model.sequence_length words are
    scored.

    \b
    Example:
        textclf explain --model runs/demo-20261128-120000 --text "the match ended with a late goal"
        textclf explain --model RUN --input data/test.csv --limit 5 --html explain.html
        textclf explain --model RUN --text "cheap pizza deals" --label food --measure prob
    """
    from .use.explain import explain_run, format_terminal

    results = explain_run(
        model_dir,
        list(texts),
        input_path,
        limit=limit,
        text_column=text_column,
        encoding=encoding,
        label=label,
        measure=measure,
        threshold=threshold,
        html=html_path,
    )
    color = False if (no_color or os.environ.get("NO_COLOR")) else None  # None: click decides (a TTY or not)
    for i, exp in enumerate(results):
        if i:
            click.echo("")
        click.echo(format_terminal(exp, color=color is None, top=top), color=color)
    if html_path:
        click.echo(f"\nwrote {html_path}")


@main.command(name="serve")
@click.argument("run_dir", metavar="RUN", type=click.Path(readable=False, file_okay=False))
@click.option(
    "--host", default="127.0.0.1", show_default=True, help="Address to listen on; 0.0.0.0 for every interface."
)
@click.option(
    "--port", type=click.IntRange(0, 65535), default=8000, show_default=True, help="Port; 0 picks a free one."
)
@click.option(
    "--max-batch-wait-ms",
    type=click.FloatRange(0, 1000),
    default=5.0,
    show_default=True,
    help="How long the model's worker waits for more requests to score together with the first one.",
)
@click.option(
    "--max-batch-texts",
    type=click.IntRange(1, 100_000),
    default=256,
    show_default=True,
    help="The most texts gathered into one model call.",
)
@click.option(
    "--max-texts", type=click.IntRange(1, 100_000), default=256, show_default=True, help="Texts per /predict request."
)
@click.option(
    "--max-explain-texts",
    type=click.IntRange(1, 1000),
    default=20,
    show_default=True,
    help="Texts per /explain request (each costs one model row per word).",
)
@click.option(
    "--max-text-chars", type=click.IntRange(1, 100_000), default=20_000, show_default=True, help="Characters per text."
)
@click.option(
    "--max-body-bytes",
    type=click.IntRange(1024, 1 << 30),
    default=1 << 20,
    show_default=True,
    help="Request body size; a larger body is refused (413) before it is read.",
)
@click.option(
    "--drain-timeout",
    type=Seconds(),
    default=30.0,
    show_default=True,
    help="On SIGTERM or Ctrl-C: seconds to let the requests in flight finish.",
)
@click.option("--access-log", is_flag=True, help="Log one line per request to stderr.")
def serve_cmd(run_dir, **settings) -> None:
    """Serve RUN as a JSON HTTP API with a page to try it (needs: pip install 'textclf[serve]').

    POST /predict {"texts": [...], "top_k": N} answers what `textclf predict` decides, POST /explain the word
    scores of `textclf explain`; GET /health is 200 once the model is loaded, GET /metadata describes the run;
    the API docs are at /docs, the page at /. Concurrent requests are scored together in one model call. It
    listens on 127.0.0.1 unless --host says otherwise; with TEXTCLF_SERVE_TOKEN set, every endpoint but
    /health and the pages needs `Authorization: Bearer TOKEN`. The run is verified before the port opens.
    SIGTERM or Ctrl-C lets the requests in flight finish and exits 0.

    \b
    Example:
        textclf serve runs/demo-20261128-120000
        curl -s localhost:8000/predict -H 'content-type: application/json' -d '{"texts": ["my parcel is late"]}'
        TEXTCLF_SERVE_TOKEN=$(openssl rand -hex 32) textclf serve RUN --host 0.0.0.0 --port 8080
    """
    from .serve.server import serve

    serve(run_dir, **settings)


def _complete_sort(ctx, param, incomplete: str) -> list[str]:
    from .run.listing import SORT_COMPLETIONS

    return [k for k in SORT_COMPLETIONS if k.startswith(incomplete)]


@main.command(name="runs")
@click.argument("runs_dir", required=False, default="runs", type=click.Path(readable=False, file_okay=False))
@click.option(
    "--sort",
    "sort",
    default="created",
    show_default=True,
    metavar="KEY",
    shell_complete=_complete_sort,
    help="created (newest first), name, valid, test (main metric, best first), seconds, "
    "or valid.METRIC / test.METRIC, e.g. valid.macro_f1.",
)
@click.option("--json", "as_json", is_flag=True, help="Print a JSON list instead of the table.")
def runs_cmd(runs_dir, sort, as_json) -> None:
    """List the run directories in RUNS_DIR (default runs/) with their status, metrics and settings.

    Reads only the small JSON/YAML files of each run (never the weights, never TensorFlow). Status is
    complete, resumable (has a checkpoint: textclf train --resume RUN), incomplete, or damaged: REASON.

    \b
    Example:
        textclf runs
        textclf runs experiments/ --sort valid
        textclf runs --sort test.macro_f1 --json
    """
    import json

    from .run.listing import format_runs, list_runs

    found = list_runs(runs_dir, sort=sort)
    click.echo(
        json.dumps([r.to_json() for r in found], indent=1, ensure_ascii=False) if as_json else format_runs(found)
    )


@main.command(name="show")
@click.argument("run_dir", type=click.Path(readable=False, file_okay=False))
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of the report.")
@click.option("--no-verify", is_flag=True, help="Skip checking every file against the manifest (SHA-256).")
@click.option("--card", is_flag=True, help="Print the run's model card (MODEL_CARD.md) instead, once the run verifies.")
def show_cmd(run_dir, as_json, no_verify, card) -> None:
    """Summarize one run: status, manifest check, task and classes, data, config, history, metrics.

    \b
    Example:
        textclf show runs/demo-20261128-120000
        textclf show runs/demo-20261128-120000 --json
        textclf show runs/demo-20261128-120000 --card
    """
    import json

    from .run.listing import format_show, model_card, show_run

    if card:
        if as_json:
            from .errors import UsageError

            raise UsageError("--card prints the model card as Markdown; leave out --json")
        click.echo(model_card(run_dir, verify=not no_verify), nl=False)
        return
    info = show_run(run_dir, verify=not no_verify)
    click.echo(json.dumps(info, indent=1, ensure_ascii=False) if as_json else format_show(info))


@main.command(name="env")
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of the report.")
@click.option("--no-tensorflow", is_flag=True, help="Skip importing TensorFlow (no device list).")
def env_cmd(as_json, no_tensorflow) -> None:
    """Print versions, CPU and what TensorFlow sees, for bug reports.

    \b
    Example:
        textclf env
        textclf env --json > env.json
    """
    import json

    from .tools.env import environment, format_environment

    env = environment(tensorflow=not no_tensorflow)
    click.echo(json.dumps(env, indent=1, ensure_ascii=False) if as_json else format_environment(env))


@main.group(name="datasets", short_help="Download public datasets as train.csv and test.csv.")
def datasets_group() -> None:
    """Download classic public datasets (imdb, ag_news, sst2, trec, sms_spam) as train.csv and test.csv.

    \b
    Example:
        textclf datasets list
        textclf datasets download trec --to data/trec
    """


@datasets_group.command(name="list")
def datasets_list_cmd() -> None:
    """List the datasets that `textclf datasets download` knows, with their download size.

    \b
    Example:
        textclf datasets list
    """
    from .tools.downloads import format_datasets

    click.echo(format_datasets())


@datasets_group.command(name="download")
@click.argument("name")
@click.option(
    "--to",
    "dest",
    required=True,
    type=click.Path(readable=False, file_okay=False),
    metavar="DIR",
    help="Folder to write train.csv, test.csv and SOURCE.md to (the original files go to DIR/downloads).",
)
@click.option(
    "--url",
    "base_url",
    default=None,
    metavar="URL",
    help="Mirror: this dataset's files are at URL/<file> (a one-file dataset also takes the file's full "
    "address). Default: the canonical address, or $TEXTCLF_DATASETS_MIRROR/<name>/<file>.",
)
@click.option(
    "--sha256",
    "sha256",
    multiple=True,
    metavar="[FILE=]HEX",
    help="Expected SHA-256 of a downloaded file, instead of the published one (for a mirror that "
    "serves other bytes). Repeatable.",
)
@click.option(
    "--timeout",
    type=Seconds(),
    default=60.0,
    show_default=True,
    help="Seconds to wait for data before giving up.",
)
@click.option(
    "--seed",
    type=int,
    default=13,
    show_default=True,
    help="Seed of the stratified 80/20 split for a dataset without an official split (sms_spam).",
)
def datasets_download_cmd(name, dest, base_url, sha256, timeout, seed) -> None:
    """Download dataset NAME, verify its SHA-256 and write DIR/train.csv, DIR/test.csv and DIR/SOURCE.md.

    Columns text,label (trec adds label_fine). The download is skipped when DIR/downloads already holds the
    verified file. Nothing is extracted to disk: archive members are read as streams, and members with an
    absolute path or '..' are refused. Progress and checksums go to stderr; the last line is DIR.

    \b
    Example:
        textclf datasets download trec --to data/trec
        textclf datasets download imdb --to data/imdb --timeout 120
        textclf datasets download sst2 --to data/sst2 --url https://mirror.example.org/glue
        TEXTCLF_DATASETS_MIRROR=file:///srv/mirror textclf datasets download ag_news --to data/ag_news
    """
    from .tools.downloads import download_dataset, no_progress

    def progress(label, total):
        if total and sys.stderr.isatty():
            return click.progressbar(length=total, label=label, file=sys.stderr, show_pos=False)
        return no_progress(label, total)

    result = download_dataset(
        name, dest, base_url=base_url, sha256=sha256, timeout=timeout, seed=seed, progress=progress
    )
    click.echo(result.summary())


@main.command(name="init")
@click.option(
    "--data",
    "data_path",
    required=True,
    type=click.Path(readable=False, dir_okay=False),
    help="Labeled data file to inspect (.csv, .tsv, .jsonl, .parquet).",
)
@click.option(
    "--output",
    "-o",
    "output_path",
    default="config.yaml",
    show_default=True,
    type=click.Path(readable=False, dir_okay=False),
    help="Config file to write.",
)
@click.option("--force", is_flag=True, help="Overwrite the output file if it exists.")
@click.option("--text-column", default=None, help="The text column (default: guessed).")
@click.option("--label-column", default=None, help="The label column (default: guessed).")
@encoding_option("Text encoding of the data file.")
@click.option(
    "--sample-rows",
    type=click.IntRange(1, None),
    default=100_000,
    show_default=True,
    help="Read at most this many rows.",
)
def init_cmd(data_path, output_path, force, text_column, label_column, encoding, sample_rows) -> None:
    """Write a commented config for a data file.

    Reads the first rows of the file, picks the text column (longest texts, names like text or review)
    and the label column (few distinct values, names like label or category), the task (labels joined
    with | mean multi-label) and model.sequence_length (95% of texts fit), and writes a config that
    explains each choice in a comment. An existing file is kept unless --force is given.

    \b
    Example:
        textclf init --data data/train.csv
        textclf init --data reviews.jsonl --output reviews.yaml --label-column stars
        textclf init --data big.parquet --sample-rows 20000 --force
    """
    from .tools.init_config import init_config

    result = init_config(
        data_path,
        output_path,
        force=force,
        text_column=text_column,
        label_column=label_column,
        encoding=encoding,
        sample_rows=sample_rows,
    )
    click.echo(result.summary())
    click.echo(f"wrote {result.output}; check the data with: textclf check-data --config {result.output}")


@main.command(name="check-data")
@click.option(
    "--config",
    "config_path",
    required=True,
    type=click.Path(readable=False, dir_okay=False),
    help="YAML config whose data files to check.",
)
@click.option(
    "--set",
    "overrides",
    multiple=True,
    metavar="SECTION.KEY=VALUE",
    help="Override a config key, as for train. Repeatable.",
)
@click.option("--strict", is_flag=True, help="Exit with code 3 when any problem is found.")
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON.")
@click.option(
    "--examples", type=click.IntRange(0, None), default=3, show_default=True, help="Example rows to show per finding."
)
def check_data_cmd(config_path, overrides, strict, as_json, examples) -> None:
    """Lint the data files of a config before training.

    Reports empty and duplicate texts, texts with conflicting labels, texts shared between train and
    valid/test (leakage), label imbalance, valid/test labels that train lacks, the share of texts that
    model.sequence_length cuts and the out-of-vocabulary rate on validation at model.max_tokens. Each
    finding is a problem, a warning or info. Validation is the split training would make when
    data.valid is not set. No TensorFlow is loaded.

    \b
    Example:
        textclf check-data --config configs/demo.yaml
        textclf check-data --config config.yaml --strict --json > report.json
    """
    import json

    from .config import load_config
    from .tools.check_data import check_data

    report = check_data(load_config(config_path, list(overrides)), examples=examples)
    click.echo(json.dumps(report.to_dict(), indent=2, ensure_ascii=False) if as_json else report.format())
    if strict:
        report.check_strict()


@main.command(name="export")
@model_option
@click.option(
    "--format",
    "fmt",
    required=True,
    type=click.Choice(["savedmodel", "tflite"]),
    help="savedmodel: takes raw text (TF Serving signature serving_default). "
    "tflite: takes token ids, with vocab.json and README.txt beside it.",
)
@click.option(
    "--output",
    "output_dir",
    type=click.Path(
        readable=False,
    ),
    default=None,
    help="Folder to create (must not exist, or be empty). Default: RUN/../<run-name>-<format>.",
)
@threshold_option
def export_cmd(model_dir, fmt, output_dir, threshold) -> None:
    """Export a run as a SavedModel or TFLite model.

    savedmodel takes raw texts and encodes them in its graph (signature serving_default, for TF
    Serving); tflite takes token ids, with vocab.json and README.txt on how to encode a text.
    The export is reloaded and its probabilities compared with textclf's on sample texts before it is
    kept; a mismatch removes it. The run directory itself is never written to. The last line of output
    is the export's path.

    \b
    Example:
        textclf export --model runs/demo-20261128-120000 --format savedmodel
        textclf export --model RUN --format tflite --output exports/demo-tflite
    """
    from .use.export import export

    click.echo(str(export(model_dir, fmt, output_dir, threshold=threshold)))


if __name__ == "__main__":  # pragma: no cover
    main()
