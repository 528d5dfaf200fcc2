"""The config schema: frozen dataclasses with documented defaults, and validation of plain values.

Every key is a dataclass field whose metadata holds its one-line documentation and its rule (kind, choices,
bounds). :func:`build_config` validates plain values ({"task": .., "data": {..}, ..}) against those rules
and reports every problem at once, each with its key path, and the line when the value came from a file.
The YAML side (:mod:`textclf.config.loading`) and :meth:`Config.replace` both build through it.
"""

from __future__ import annotations

import codecs
import dataclasses
import math
import os
import re
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

import yaml

from ..errors import ConfigError, closest
from .space import DEFAULT_SPACE, SpaceEntry, build_space, space_mapping

TASKS = ("auto", "binary", "multiclass", "multilabel")


def _f(default: Any, doc: str, kind: str, choices: tuple | None = None, lo=None, hi=None, above=None):
    """A dataclass field with its one-line documentation and validation rule (``above``: an exclusive lower bound)."""
    return field(
        default=default, metadata={"doc": doc, "kind": kind, "choices": choices, "lo": lo, "hi": hi, "above": above}
    )


DELIMITER_CHARS = {"comma": ",", "semicolon": ";", "tab": "\t", "pipe": "|"}  # data.delimiter's names


@dataclass(frozen=True)
class DataConfig:
    """Where the data is and how to read it."""

    train: str | list[str] | None = _f(
        None,
        "training file (.csv, .tsv, .jsonl, .parquet), a glob such as parts/*.csv, or a list of files; required",
        "paths",
    )
    valid: str | None = _f(None, "validation file; if null, a seeded stratified split of train is used", "path")
    test: str | None = _f(None, "test file, evaluated once after training; optional", "path")
    text_column: str = _f("text", "column that holds the text", "str")
    label_column: str = _f("label", "column that holds the label (or the joined labels for multi-label)", "str")
    label_separator: str = _f("|", "separator between labels in one cell for multi-label tasks", "str")
    valid_fraction: float = _f(
        0.1, "share of train held out for validation when data.valid is null", "float", lo=0.01, hi=0.5
    )
    encoding: str = _f("utf-8", "text encoding of CSV/TSV/JSONL files (a BOM is detected and handled)", "str")
    delimiter: str = _f(
        "auto",
        "field delimiter of CSV/TSV files: auto (sniffed from the header and first rows: a semicolon or tab CSV as "
        "spreadsheets write them is found), comma, semicolon, tab or pipe",
        "choice",
        ("auto", "comma", "semicolon", "tab", "pipe"),
    )
    on_bad_rows: str = _f(
        "error", "what to do with rows that cannot be read: error or skip", "choice", ("error", "skip")
    )
    max_bad_fraction: float = _f(
        0.01, "with on_bad_rows: skip, fail if more than this share of rows is bad", "float", lo=0.0, hi=1.0
    )
    stream: str = _f(
        "auto",
        "read training data from disk in chunks instead of into memory: true, false, or auto (when the training files total over 1 GiB)",
        "choice",
        ("auto", "true", "false"),
    )
    shuffle_buffer: int = _f(
        50000, "streaming: rows shuffled together (batches are drawn from a window of this many rows)", "int", lo=1
    )
    vocab_sample_rows: int = _f(
        200000,
        "streaming: the vocabulary and IDF are fitted on a uniform sample of this many training rows",
        "int",
        lo=1,
    )
    valid_max_rows: int = _f(
        50000, "streaming: validation rows kept in memory (a uniform sample when there are more)", "int", lo=1
    )

    @property
    def delimiter_char(self) -> str | None:
        """The delimiter character that ``delimiter`` forces; None for ``auto`` (sniffed per file)."""
        return DELIMITER_CHARS.get(self.delimiter)


STANDARDIZE = ("lower_and_split_punctuation", "lower_and_strip_punctuation", "lower", "none")


@dataclass(frozen=True)
class ModelConfig:
    """The vocabulary and the network: Embedding -> (Bi)LSTM -> pooling -> Dense, plus an n-gram branch."""

    max_tokens: int = _f(30000, "vocabulary size, including the padding and out-of-vocabulary tokens", "int", lo=3)
    sequence_length: int = _f(
        128, "the RNN reads this many tokens of each text (the n-gram branch reads ngram_length)", "int", lo=1
    )
    standardize: str = _f(
        "lower_and_split_punctuation",
        "text normalization: lower_and_split_punctuation, lower_and_strip_punctuation, lower or none",
        "choice",
        STANDARDIZE,
    )
    embedding_dim: int = _f(128, "size of the word embeddings", "int", lo=1)
    pretrained_vectors: str | None = _f(
        None,
        "word vectors to start the embeddings from: a word2vec, GloVe or fastText text file (.txt, .vec, optionally .gz) with embedding_dim numbers per word; null = random",
        "path",
    )
    rnn: str = _f("lstm", "recurrent layer type: lstm or gru", "choice", ("lstm", "gru"))
    units: int = _f(64, "units per recurrent layer (per direction)", "int", lo=1)
    layers: int = _f(1, "number of stacked recurrent layers", "int", lo=1, hi=8)
    bidirectional: bool = _f(True, "read the text in both directions", "bool")
    pooling: str = _f(
        "max", "how the sequence becomes one vector: max, mean or last", "choice", ("max", "mean", "last")
    )
    embedding_dropout: float = _f(0.25, "dropout on the embeddings", "float", lo=0.0, hi=0.9)
    dropout: float = _f(0.4, "dropout before the output layer", "float", lo=0.0, hi=0.9)
    ngrams: int = _f(
        2,
        "n-gram branch: longest n-gram of a linear TF-IDF bag-of-n-grams model added to the RNN (0 = off)",
        "int",
        lo=0,
        hi=3,
    )
    ngram_max_tokens: int = _f(500000, "vocabulary size of the n-gram branch", "int", lo=3)
    ngram_standardize: str = _f(
        "lower_and_strip_punctuation",
        "text normalization of the n-gram branch (choices as for standardize): without punctuation its n-grams are word n-grams",
        "choice",
        STANDARDIZE,
    )
    ngram_length: int = _f(
        2048, "the n-gram branch reads this many n-grams of each text (it is cheap, so more than the RNN)", "int", lo=1
    )


@dataclass(frozen=True)
class TrainConfig:
    """The training loop."""

    epochs: int = _f(10, "maximum number of passes over the training data", "int", lo=1)
    batch_size: int = _f(64, "examples per step (across all replicas)", "int", lo=1)
    learning_rate: float = _f(0.002, "Adam learning rate", "float", above=0.0)
    ngram_learning_rate: float = _f(
        0.1,
        "Adam learning rate of the linear n-gram branch (a linear model needs larger steps than the RNN to converge as fast)",
        "float",
        lo=0.0,
    )
    seed: int = _f(
        13,
        "random seed for the split, initialization and shuffling (CPU runs repeat exactly)",
        "int",
        lo=0,
        hi=2**32 - 1,
    )
    early_stopping_patience: int = _f(
        2,
        "stop after this many epochs without a better validation figure (early_stopping_monitor; 0 = never stop early)",
        "int",
        lo=0,
    )
    early_stopping_monitor: str = _f(
        "metric",
        "the validation figure that picks the best epoch (whose weights are kept) and drives early stopping: metric (accuracy; micro-F1 for multi-label; the lower loss breaks a tie) or loss",
        "choice",
        ("metric", "loss"),
    )
    checkpoint_every_steps: int = _f(
        0, "also checkpoint every N batches inside an epoch (0 = only at epoch ends)", "int", lo=0
    )
    class_weight: str = _f(
        "none",
        "none, or auto to weight classes (labels, for multi-label) by inverse frequency",
        "choice",
        ("none", "auto"),
    )
    mixed_precision: bool = _f(False, "compute in float16 on GPU (ignored on CPU, where it is slower)", "bool")
    device: str = _f("auto", "auto, cpu or gpu", "choice", ("auto", "cpu", "gpu"))
    runs_dir: str = _f(
        "runs", "folder for new run directories when --run-dir is not given (relative to the working directory)", "str"
    )
    tensorboard: bool = _f(True, "write TensorBoard logs into the run directory", "bool")
    verbose: bool = _f(True, "draw a per-step progress bar, on a terminal only (logs get one line per epoch)", "bool")
    plots: bool = _f(True, "draw training_curves.png and confusion_matrix.png into the run directory", "bool")
    tracking: str = _f(
        "none",
        "log each epoch, the config, the final metrics and the run directory to an experiment tracker: none or mlflow (pip install 'textclf[tracking]'; the store is MLFLOW_TRACKING_URI, else ./mlruns)",
        "choice",
        ("none", "mlflow"),
    )
    tracking_experiment: str | None = _f(
        None, "the MLflow experiment to log to (train.tracking: mlflow); null = the config file's name", "name"
    )
    threshold_objective: str = _f(
        "f1",
        "binary and multi-label: tune each label's decision threshold on validation for f1, or to reach threshold_target precision or recall; none keeps 0.5",
        "choice",
        ("f1", "precision", "recall", "none"),
    )
    threshold_target: float = _f(
        0.9, "the precision or recall to reach when threshold_objective is precision or recall", "float", lo=0.0, hi=1.0
    )


@dataclass(frozen=True)
class TuneConfig:
    """The hyperparameter search of textclf tune (textclf train ignores this section)."""

    pruner: str = _f(
        "median",
        "stop weak trials early: median (a trial whose validation figure at an epoch is worse than the median of "
        "the finished trials at that epoch stops there) or none",
        "choice",
        ("median", "none"),
    )
    startup_trials: int = _f(3, "pruner: trials that finish before any trial may be pruned", "int", lo=0)
    warmup_epochs: int = _f(1, "pruner: epochs that every trial runs before it may be pruned", "int", lo=0)
    default_space: bool = _f(
        True,
        "tune.space changes the default search space key by key (an entry null leaves a key out); false: only "
        "the keys in tune.space are searched",
        "bool",
    )
    space: tuple[SpaceEntry, ...] = _f(
        DEFAULT_SPACE,
        "config keys (section.key) that each trial sets: a list of choices, or for a number a range "
        "{low: L, high: H} with log: true or a step; each checked by its key's own rule",
        "space",
    )

    def to_dict(self) -> dict:
        """The section as plain data, in the shape of the YAML file."""
        out: dict[str, Any] = {f.name: getattr(self, f.name) for f in fields(self) if f.name != "space"}
        out["space"] = space_mapping(self.space, self.default_space)
        return out


@dataclass(frozen=True)
class Config:
    """The whole, resolved configuration of a training run."""

    task: str = _f(
        "auto",
        "auto, binary, multiclass or multilabel (auto: multilabel if any label cell holds the separator)",
        "choice",
        TASKS,
    )
    data: DataConfig = field(default_factory=DataConfig)
    model: ModelConfig = field(default_factory=ModelConfig)
    train: TrainConfig = field(default_factory=TrainConfig)
    tune: TuneConfig = field(default_factory=TuneConfig)
    source: str | None = field(default=None, compare=False, metadata={"internal": True})

    def to_dict(self) -> dict:
        """The config as plain data, in the shape of the YAML file."""
        out: dict[str, Any] = {}
        for f in fields(self):
            if f.metadata.get("internal"):
                continue
            value = getattr(self, f.name)
            if isinstance(value, TuneConfig):
                out[f.name] = value.to_dict()
            else:
                out[f.name] = dataclasses.asdict(value) if dataclasses.is_dataclass(value) else value
        return out

    def to_yaml(self) -> str:
        return yaml.safe_dump(self.to_dict(), sort_keys=False, allow_unicode=True)

    @classmethod
    def from_dict(cls, values: dict, source: str | None = None) -> Config:
        """A validated Config from plain data in the shape of the YAML file (e.g. a run's saved config)."""
        if not isinstance(values, dict):
            raise ConfigError(f"expected a mapping of sections (task, data, model, train), received {values!r}", source)
        return build_config(values, {}, source)

    def changes_from(self, saved: Config) -> list[str]:
        """``key old → new`` for each key whose value differs from ``saved``'s, leaving out the keys that do not
        change what training computes (:data:`UNMEASURED_KEYS`) and the tune section: what a resumed run or a
        continued study must refuse."""
        old, new = dotted(saved.to_dict()), dotted(self.to_dict())
        return [
            f"{k} {old.get(k)!r} → {new.get(k)!r}"
            for k in sorted(set(old) | set(new))
            if old.get(k) != new.get(k) and k not in UNMEASURED_KEYS and not k.startswith("tune.")
        ]

    def replace(self, **sections: dict) -> Config:
        """A copy with some keys changed, e.g. ``cfg.replace(train={"epochs": 2})``; validated."""
        data = self.to_dict()
        for name, values in sections.items():
            if isinstance(values, dict):
                data[name].update(values)
            else:
                data[name] = values
        return build_config(data, {}, self.source)


# keys that change how a run is shown, stored or tracked, not what training computes: a resume may change them
UNMEASURED_KEYS = frozenset(
    {
        "train.verbose",
        "train.device",
        "train.tensorboard",
        "train.runs_dir",
        "train.plots",
        "train.tracking",
        "train.tracking_experiment",
    }
)


def dotted(values: dict, prefix: str = "") -> dict[str, Any]:
    """A nested dict as ``{"section.key": value}``."""
    out: dict[str, Any] = {}
    for key, value in values.items():
        if isinstance(value, dict):
            out.update(dotted(value, f"{prefix}{key}."))
        else:
            out[f"{prefix}{key}"] = value
    return out


SECTIONS = {"data": DataConfig, "model": ModelConfig, "train": TrainConfig, "tune": TuneConfig}
PATH_KEYS = ("data.train", "data.valid", "data.test", "model.pretrained_vectors")


@dataclass
class Located:
    """A config value with where it came from: the raw scalar text, the file line, the origin."""

    value: Any
    raw: str | None  # the scalar's text as written, None for collections
    line: int | None  # 1-based
    origin: str  # file name or "--set"
    refused: bool = False  # already reported (e.g. an unsupported tag): not to be validated again
    parts: dict[str, Located] | None = None  # a --set search space entry: where each of its scalars came from


def describe_key(v: Located, key: str) -> str:
    """``key (line N)``, ``key (--set)`` or ``key``: how a problem names the value."""
    if v.line:
        return f"{key} (line {v.line})"
    return f"{key} (--set)" if v.origin == "--set" else key


# --------------------------------------------------------------------------------------------------
# Validation of one value


def _type_problem(key: str, meta: dict, v: Located) -> tuple[Any, str | None]:
    """Return (converted value, problem or None) for one key, by the kind of its field."""
    where = describe_key(v, key)
    if isinstance(v.value, yaml.Node):
        return None, f"{where}: received a mapping, expected a single value"
    check = {
        "path": _check_path,
        "paths": _check_path,
        "bool": _check_bool,
        "int": _check_int,
        "float": _check_float,
        "name": _check_name,
    }.get(meta["kind"], _check_text)
    return check(where, meta, v.value, v.raw)


def _check_path(where: str, meta: dict, value: Any, raw: str | None) -> tuple[Any, str | None]:
    if meta["kind"] == "paths" and isinstance(value, list):
        if value and all(isinstance(x, str) and x.strip() for x in value):
            return value, None
        return None, f"{where}: received {value!r}, expected a non-empty list of file paths (strings)"
    if value is None:
        return None, None
    if isinstance(value, str) and value.strip():
        return value, None
    return None, f"{where}: received {value!r}, expected a file path (a string) or null"


def _check_bool(where: str, meta: dict, value: Any, raw: str | None) -> tuple[Any, str | None]:
    if isinstance(value, bool):
        return value, None
    return None, f"{where}: received {value!r}, expected true or false"


def _check_int(where: str, meta: dict, value: Any, raw: str | None) -> tuple[Any, str | None]:
    if isinstance(value, bool):
        return None, f"{where}: received {raw or value!r} (a boolean in YAML), expected an integer"
    if isinstance(value, int):
        if raw and re.fullmatch(r"[-+]?0[0-7_]+", raw):
            return None, (
                f"{where}: received {raw}, which YAML 1.1 reads as the octal number {value}; "
                f"write it without the leading zero ({int(raw.replace('_', ''), 10)}) or quote it"
            )
        return _range(where, meta, value)
    if isinstance(value, float) and value.is_integer():
        return None, f"{where}: received {raw or value}, expected an integer; write {int(value)}"
    if isinstance(value, str) and re.fullmatch(r"\s*[-+]?\d+\s*", value):
        return None, f"{where}: received the string {value!r}, expected an integer; remove the quotes"
    return None, f"{where}: received {value!r}, expected an integer"


def _check_float(where: str, meta: dict, value: Any, raw: str | None) -> tuple[Any, str | None]:
    if isinstance(value, bool):
        return None, f"{where}: received {raw or value!r} (a boolean in YAML), expected a number"
    if isinstance(value, (int, float)):
        return _range(where, meta, float(value))
    if not isinstance(value, str):
        return None, f"{where}: received {value!r}, expected a number"
    try:
        number = float(value)
    except ValueError:
        return None, f"{where}: received {value!r}, expected a number"
    if not math.isfinite(number):
        return None, f"{where}: received {value!r}, expected a finite number (NaN and infinity are not settings)"
    if raw is not None and re.fullmatch(r"[-+]?\d+(\.\d*)?[eE][-+]?\d+", raw.strip()):
        return None, (
            f"{where}: received {raw}, which YAML 1.1 reads as a string; "
            f"write it with a decimal point and a signed exponent ({number:.1e}) or as {number:g}"
        )
    return None, f"{where}: received the string {value!r}, expected a number; remove the quotes"


def _check_name(where: str, meta: dict, value: Any, raw: str | None) -> tuple[Any, str | None]:
    """An optional name: null, or a non-empty string."""
    if value is None:
        return None, None
    return _check_text(where, dict(meta, kind="str"), value, raw)


def _check_text(where: str, meta: dict, value: Any, raw: str | None) -> tuple[Any, str | None]:
    """``str`` and ``choice`` keys."""
    kind = meta["kind"]
    if isinstance(value, bool) and kind == "choice" and str(value).lower() in meta["choices"]:
        return str(value).lower(), None  # a choice among auto/true/false: a YAML boolean means the same
    if isinstance(value, bool):
        return None, (
            f"{where}: received {raw or value!r}, which YAML 1.1 reads as the boolean {str(value).lower()}; "
            f"quote it if you mean the text: '{raw or value}'"
        )
    if value is None:
        return None, f"{where}: received null, expected a string"
    if isinstance(value, (int, float)):
        if kind == "choice":
            return None, f"{where}: received {value!r}, expected one of {', '.join(meta['choices'])}"
        return None, f"{where}: received the number {raw or value}, expected a string; quote it: '{raw or value}'"
    if not isinstance(value, str):
        return None, f"{where}: received {value!r}, expected a string"
    if kind == "choice" and value not in meta["choices"]:
        close = closest(value, meta["choices"])
        hint = f"; did you mean {close!r}?" if close else ""
        return None, f"{where}: received {value!r}, expected one of {', '.join(meta['choices'])}{hint}"
    if kind == "str" and value == "":
        return None, f"{where}: received an empty string, expected a non-empty value"
    return value, None


def _range(where: str, meta: dict, value):
    if isinstance(value, float) and not math.isfinite(value):
        return None, f"{where}: received {value}, expected a finite number (NaN and infinity are not settings)"
    lo, hi, above = meta.get("lo"), meta.get("hi"), meta.get("above")
    if above is not None and value <= above:
        return None, f"{where}: received {value}, expected a number above {above}"
    if lo is not None and value < lo:
        return None, f"{where}: received {value}, expected at least {lo}"
    if hi is not None and value > hi:
        return None, f"{where}: received {value}, expected at most {hi}"
    return value, None


def suggest(name: str, options: list[str]) -> str:
    close = closest(name, options)
    return f"; did you mean {close!r}?" if close else f"; valid keys: {', '.join(options)}"


# --------------------------------------------------------------------------------------------------
# Building the Config


def top_fields() -> dict[str, dataclasses.Field]:
    return {f.name: f for f in fields(Config) if not f.metadata.get("internal")}


def build_config(
    values: dict,
    located: dict[str, Located],
    source: str | None,
    base_dir: Path | None = None,
    problems: list[str] | None = None,
) -> Config:
    """Validate plain ``values`` ({"task": .., "data": {..}, ..}) into a Config, raising all problems at once.

    ``located`` maps key paths to where each value came from (for the messages); ``base_dir`` is the folder
    that relative paths from a file resolve against.
    """
    problems = problems if problems is not None else []
    top = top_fields()
    kwargs: dict[str, Any] = {}
    for name, value in values.items():
        if name not in top:
            origin = "--set" if source is None else ""
            key = describe_key(located.get(name) or Located(None, None, None, origin), name)
            problems.append(f"{key}: unknown key{suggest(name, list(top))}")
        elif name in SECTIONS:
            section = _build_section(name, value, located, base_dir, problems)
            if section is not None:
                kwargs[name] = section
        else:
            lv = located.get(name) or Located(value, None, None, "--set")
            if lv.refused:
                continue
            converted, problem = _type_problem(name, top[name].metadata, lv)
            if problem:
                problems.append(problem)
            else:
                kwargs[name] = converted
    if problems:
        raise ConfigError(problems, source)
    cfg = Config(
        task=kwargs.get("task", Config.task),
        data=DataConfig(**kwargs.get("data", {})),
        model=ModelConfig(**kwargs.get("model", {})),
        train=TrainConfig(**kwargs.get("train", {})),
        tune=TuneConfig(**kwargs.get("tune", {})),
        source=source,
    )
    problems = _cross_problems(cfg, located)
    if problems:
        raise ConfigError(problems, source)
    return cfg


def _cross_problems(cfg: Config, located: dict[str, Located]) -> list[str]:
    """Problems of keys taken together (each key alone was valid)."""
    problems = []
    data = cfg.data
    if data.text_column == data.label_column:
        key = describe_key(located.get("data.label_column") or Located(None, None, None, ""), "data.label_column")
        problems.append(
            f"{key}: received {data.label_column!r}, the same column as data.text_column; the text and the labels "
            "must be two different columns"
        )
    key = describe_key(located.get("data.encoding") or Located(None, None, None, ""), "data.encoding")
    problem = encoding_problem(data.encoding, key)
    if problem:
        problems.append(problem)
    return problems


def encoding_problem(encoding: str, where: str) -> str | None:
    """Why ``encoding`` is not a text encoding Python knows (None when it is); ``where`` names the setting.
    Used by the config, the ``--encoding`` options and the readers alike."""
    try:
        codecs.lookup(encoding)
    except LookupError:
        return (
            f"{where}: received {encoding!r}, an unknown text encoding; expected one such as utf-8, latin-1, "
            "cp1252 or utf-16"
        )
    return None


def _build_section(
    name: str, value: Any, located: dict[str, Located], base_dir: Path | None, problems: list[str]
) -> dict[str, Any] | None:
    """The validated keys of one section (``data``, ``model``, ``train``); problems are appended."""
    if value is None:
        value = {}
    if not isinstance(value, dict):
        problems.append(f"{name}: expected a mapping of keys, received {value!r}")
        return None
    known = {f.name: f for f in fields(SECTIONS[name])}
    section: dict[str, Any] = {}
    for key, v in value.items():
        path = f"{name}.{key}"
        lv = located.get(path) or Located(v, None, None, "--set")
        if key not in known:
            problems.append(f"{describe_key(lv, path)}: unknown key{suggest(key, list(known))}")
            continue
        if lv.refused or known[key].metadata["kind"] == "space":
            continue  # tune.space: checked below, with tune.default_space
        converted, problem = _type_problem(path, known[key].metadata, lv)
        if problem:
            problems.append(problem)
            continue
        if path in PATH_KEYS and converted is not None:
            converted = (
                [_resolve_path(x, lv, base_dir) for x in converted]
                if isinstance(converted, list)
                else _resolve_path(converted, lv, base_dir)
            )
        section[key] = converted
    if name == "tune" and ("space" in value or "default_space" in section):
        section["space"] = _search_space(value.get("space"), section.get("default_space", True), located, problems)
    return section


def _search_space(value: Any, default_space: bool, located: dict[str, Located], problems: list[str]) -> tuple:
    """``tune.space``: each choice and each end of a range checked by the rule of the key it sets."""

    def check(meta: dict, key: str, item: Any) -> tuple[Any, str | None]:
        lv = located.get(key)
        if lv is None or lv.value is not item:  # not from a file, or replaced by --set
            lv = Located(item, None, None, "--set")
        if lv.refused:
            return None, None  # already reported (an unsupported tag, a date)
        return _type_problem(key, {"choices": None, "lo": None, "hi": None, "above": None, **meta}, lv)

    def where(key: str) -> str:
        return describe_key(located.get(key) or Located(None, None, None, ""), key)

    config_fields = {f"{s}.{f.name}": f.metadata for s, c in SECTIONS.items() if s != "tune" for f in fields(c)}
    return build_space(value, default_space, config_fields, check, where, problems)


def _resolve_path(value: str, lv: Located, base_dir: Path | None) -> str:
    p = Path(os.path.expanduser(value))
    if not p.is_absolute():
        base = base_dir if (lv.origin != "--set" and base_dir is not None) else Path.cwd()
        p = base / p
    return str(Path(os.path.normpath(p)))
