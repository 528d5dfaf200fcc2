"""The ``textclf`` command: parse the arguments, call one library function, map errors to exit codes.

Exit codes: 0 ok, 1 internal error, 2 usage or config, 3 data, 4 model rejected, 5 out of memory or disk,
6 training diverged, 130 interrupted (Ctrl-C), 143 terminated. Errors are one message without a traceback;
``--debug`` shows the traceback. Nothing here imports TensorFlow at start-up.
"""

from __future__ import annotations

import os
import sys
import traceback
from functools import wraps

import click

from . import __version__
from .errors import EXIT_INTERNAL, EXIT_RESOURCE, EXIT_SIGINT, TextclfError

EXIT_CODES_HELP = """\b
Exit codes: 0 ok, 1 internal error, 2 usage or config, 3 data, 4 model rejected,
5 out of memory or disk, 6 training diverged, 130/143 interrupted."""


OUT_OF_MEMORY = ("out of memory; lower train.batch_size or model.sequence_length (or --batch-size for predict and "
                 "eval), or make the model smaller (model.units, model.embedding_dim, model.ngram_max_tokens). "
                 "A checkpoint written before, if any, is intact: resume with textclf train --resume RUN_DIR")


def _quiet_tensorflow() -> None:
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")


class _Progress:
    """A progress bar on stderr for long predict/eval runs; silent when stderr is not a terminal."""

    def __init__(self, label: str):
        self.label, self.bar, self.shown = label, None, 0

    def __call__(self, done: int, total: int) -> None:
        if not sys.stderr.isatty() or total <= 0:
            return
        if self.bar is None:
            self.bar = click.progressbar(length=total, label=self.label, file=sys.stderr, show_pos=True,
                                         show_eta=True, width=30)
            self.bar.__enter__()
        self.bar.update(max(done - self.shown, 0))
        self.shown = max(done, self.shown)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.__exit__(None, None, None)
            self.bar = None


def _fail(message: str, code: int) -> None:
    click.echo(f"error: {message}", err=True)
    sys.exit(code)


def handle_errors(fn):
    """Run a command body and turn known failures into one message and an exit code."""

    @wraps(fn)
    def wrapper(*args, **kwargs):
        debug = click.get_current_context().find_root().params.get("debug", False)
        try:
            return fn(*args, **kwargs)
        except TextclfError as exc:
            if debug:
                traceback.print_exc()
            _fail(str(exc), exc.exit_code)
        except KeyboardInterrupt:
            _fail("interrupted", EXIT_SIGINT)
        except MemoryError:
            if debug:
                traceback.print_exc()
            _fail(OUT_OF_MEMORY, EXIT_RESOURCE)
        except click.exceptions.ClickException:
            raise
        except SystemExit:
            raise
        except Exception as exc:  # noqa: BLE001 - the last line of defence
            if type(exc).__name__ == "ResourceExhaustedError":
                if debug:
                    traceback.print_exc()
                _fail(OUT_OF_MEMORY, EXIT_RESOURCE)
            if isinstance(exc, OSError) and exc.errno == 28:
                _fail(f"no space left on the disk ({exc}); free some space and run again", EXIT_RESOURCE)
            if debug:
                traceback.print_exc()
            _fail(f"internal error: {type(exc).__name__}: {exc} (run with --debug for the traceback, "
                  "and please report it)", EXIT_INTERNAL)

    return wrapper


@click.group(context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100},
             epilog=EXIT_CODES_HELP)
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
    _quiet_tensorflow()
    if debug:
        os.environ["TEXTCLF_DEBUG"] = "1"  # textclf.quiet then leaves TensorFlow's native log lines alone


@main.command()
@click.option("--config", "config_path", type=click.Path(dir_okay=False), default=None,
              help="YAML config file (see configs/default.yaml). Optional with --resume.")
@click.option("--set", "overrides", multiple=True, metavar="SECTION.KEY=VALUE",
              help="Override a config key; the value is parsed as YAML. Repeatable.")
@click.option("--run-dir", type=click.Path(file_okay=False), default=None,
              help="Write the run here (must not exist or be empty). Default: a new folder under runs/.")
@click.option("--resume", "resume_dir", type=click.Path(file_okay=False), default=None,
              help="Continue an interrupted run from its last complete checkpoint.")
@click.option("--device", type=click.Choice(["auto", "cpu", "gpu"]), default=None,
              help="Where to train; overrides train.device.")
@click.option("--on-bad-rows", type=click.Choice(["error", "skip"]), default=None,
              help="Fail on unreadable rows, or skip and list them (sets data.on_bad_rows).")
@handle_errors
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
    # all config errors are reported before TensorFlow is imported
    cfg = load_config(config_path, overrides) if config_path else None
    if cfg is None and resume_dir is None:
        raise UsageError("give --config FILE (or --resume RUN_DIR to continue an interrupted run)")
    from .training import train as train_fn

    run = train_fn(cfg, run_dir=run_dir, device=device, log=click.echo, resume=resume_dir,
                   overrides=overrides if cfg is None else ())
    click.echo(str(run))


@main.command()
@click.option("--model", "model_dir", required=True, help="A run directory written by `textclf train`.")
@click.option("--input", "input_path", required=True, type=click.Path(dir_okay=False),
              help="File to score (.csv, .tsv, .jsonl, .parquet).")
@click.option("--output", "output_path", required=True, type=click.Path(dir_okay=False), help="CSV file to write.")
@click.option("--keep-columns", default="", help="Input columns to copy to the output, comma-separated.")
@click.option("--text-column", default=None, help="Text column (default: the one the model was trained on).")
@click.option("--top-k", type=click.IntRange(0, None), default=0, help="Also write the K most probable labels.")
@click.option("--batch-size", type=click.IntRange(1, None), default=512, show_default=True, help="Rows per model call.")
@click.option("--threshold", type=click.FloatRange(0, 1), default=None,
              help="One decision threshold for every label of a binary or multi-label model (default: the "
                   "thresholds tuned on validation when the run has them, else 0.5).")
@click.option("--encoding", default="utf-8", show_default=True, help="Text encoding of the input.")
@click.option("--no-safe-csv", is_flag=True, help="Do not prefix text that starts with = + - @ with '.")
@click.option("--on-bad-rows", type=click.Choice(["error", "skip"]), default="error", show_default=True,
              help="Stop at an unreadable row, or skip it: then a `line` column joins output to input and "
                   "the skipped rows go to OUTPUT.rejects.csv.")
@click.option("--max-bad-fraction", type=click.FloatRange(0, 1), default=0.01, show_default=True,
              help="With --on-bad-rows skip: fail if more than this share of rows is unreadable.")
@click.option("--shard", default=None, metavar="I/N",
              help="Score only the I-th of N contiguous slices of the input (1 <= I <= N), for N parallel jobs; "
                   "the shards' rows concatenated in order equal one unsharded run.")
@handle_errors
def predict(model_dir, input_path, output_path, keep_columns, text_column, top_k, batch_size, threshold,
            encoding, no_safe_csv, on_bad_rows, max_bad_fraction, shard) -> None:
    """Write labels and probabilities for every row of a file, in constant memory.

    Columns: the kept columns, prediction, confidence, [topK, topK_p ...], p_<class> for each class.

    \b
    Example:
        textclf predict --model runs/demo-20261128-120000 --input data/test.csv --output preds.csv
        textclf predict --model RUN --input new.jsonl --output out.csv --keep-columns id,text --top-k 3
        textclf predict --model RUN --input big.csv --output part-2.csv --shard 2/8
    """
    from .errors import UsageError
    from .prediction import predict as predict_fn

    shard_pair = None
    if shard is not None:
        parts = shard.split("/")
        if len(parts) != 2 or not all(p.strip().isdigit() for p in parts):
            raise UsageError(f"--shard: received {shard!r}, expected I/N such as 1/4 (the first of 4 slices)")
        shard_pair = (int(parts[0]), int(parts[1]))

    keep = [c.strip() for c in keep_columns.split(",") if c.strip()]
    bar = _Progress("predict")
    try:
        summary = predict_fn(model_dir, input_path, output_path, text_column=text_column, keep_columns=keep,
                             top_k=top_k, batch_size=batch_size, encoding=encoding, threshold=threshold,
                             safe_csv=not no_safe_csv, on_bad_rows=on_bad_rows, max_bad_fraction=max_bad_fraction,
                             progress=bar, shard=shard_pair)
    finally:
        bar.close()
    if summary.truncated_texts:
        from .data import MAX_TEXT_CHARS

        click.echo(f"{summary.truncated_texts:,} texts longer than {MAX_TEXT_CHARS:,} characters were cut to that "
                   "length (the model reads far fewer tokens than that)", err=True)
    if summary.bad_rows:
        lines = ", ".join(str(b.line) for b in summary.bad_rows[:5])
        click.echo(f"skipped {len(summary.bad_rows):,} unreadable rows (lines {lines}"
                   f"{', ...' if len(summary.bad_rows) > 5 else ''}); listed in {summary.rejects}", err=True)
    click.echo(f"wrote {summary.rows:,} rows to {summary.output} ({summary.rows_per_second:,.0f} rows/s)")


@main.command(name="eval")
@click.option("--model", "model_dir", required=True, help="A run directory written by `textclf train`.")
@click.option("--data", "data_path", required=True, type=click.Path(dir_okay=False), help="Labeled file to evaluate on.")
@click.option("--output", "output_path", type=click.Path(dir_okay=False), default=None, help="Also write the metrics as JSON.")
@click.option("--text-column", default=None, help="Text column (default: the one the model was trained on).")
@click.option("--label-column", default=None, help="Label column (default: the one the model was trained on).")
@click.option("--ignore-unseen", is_flag=True, help="Leave out labels the model never saw instead of failing.")
@click.option("--batch-size", type=click.IntRange(1, None), default=512, show_default=True, help="Rows per model call.")
@click.option("--encoding", default="utf-8", show_default=True, help="Text encoding of the data file.")
@click.option("--threshold", type=click.FloatRange(0, 1), default=None,
              help="One decision threshold for every label (binary, multi-label); default: the run's tuned "
                   "thresholds, else 0.5.")
@click.option("--errors", "errors_path", type=click.Path(dir_okay=False), default=None,
              help="Write the misclassified rows (line, text, true, predicted, confidence) to this CSV, "
                   "most confident mistakes first.")
@click.option("--no-plots", is_flag=True,
              help="Do not draw the confusion matrix into RUN/evaluations/<data name>/confusion_matrix.png.")
@handle_errors
def eval_(model_dir, data_path, output_path, text_column, label_column, ignore_unseen, batch_size, encoding,
          threshold, errors_path, no_plots) -> None:
    """Report accuracy, per-class precision/recall/F1 and the confusion matrix.

    The confusion matrix is also drawn as a PNG into the run directory, under evaluations/ (outside the
    run's manifest; a read-only run is left alone).

    \b
    Example:
        textclf eval --model runs/demo-20261128-120000 --data data/test.csv
        textclf eval --model RUN --data test.csv --errors mistakes.csv --output metrics.json
        textclf eval --model RUN --data test.csv --threshold 0.3 --ignore-unseen
    """
    from .evaluation import evaluate, format_report

    bar = _Progress("eval")
    try:
        result = evaluate(model_dir, data_path, text_column=text_column, label_column=label_column,
                          output=output_path, ignore_unseen=ignore_unseen, batch_size=batch_size,
                          encoding=encoding, threshold=threshold, errors=errors_path, plots=not no_plots,
                          log=lambda m: click.echo(m, err=True), progress=bar)
    finally:
        bar.close()
    click.echo(format_report(result))
    if output_path:
        click.echo(f"\nwrote {output_path}")


if __name__ == "__main__":  # pragma: no cover
    main()
