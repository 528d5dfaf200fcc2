"""The one config object: frozen dataclasses, strict YAML loading and ``--set`` overrides.

Precedence is code defaults < YAML file < ``--set section.key=value``. Validation is strict and happens
here, before TensorFlow is imported: an unknown key gets a "did you mean", a value of the wrong type or
out of range gets a specific hint, and every problem in a file is reported at once with its key path
(and line, where the value came from a file).

YAML is parsed with PyYAML's safe loader into a node tree and converted by hand, so that:

* a tag such as ``!!python/object/apply:os.system`` is refused ("unsupported YAML tag") and never built;
* duplicate keys, aliases, tabs and oversized files are refused with a clear message;
* the raw text of every scalar is kept for hints about YAML 1.1 surprises (``1e-3`` is a string,
  ``no`` is a boolean, ``010`` is octal 8).

Relative paths in a file (data files, pretrained vectors) resolve against that file's folder; relative paths given with ``--set``
resolve against the current working directory.
"""

from __future__ import annotations

import dataclasses
import difflib
import os
import re
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

import yaml

from .errors import ConfigError

MAX_CONFIG_BYTES = 1_000_000
TASKS = ("auto", "binary", "multiclass", "multilabel")


def _f(default: Any, doc: str, kind: str, choices: tuple | None = None, lo=None, hi=None, above=None):
    """A dataclass field with its one-line documentation and validation rule (``above``: an exclusive lower bound)."""
    return field(default=default, metadata={"doc": doc, "kind": kind, "choices": choices, "lo": lo, "hi": hi,
                                            "above": above})


@dataclass(frozen=True)
class DataConfig:
    """Where the data is and how to read it."""

    train: str | list[str] | None = _f(None, "training file (.csv, .tsv, .jsonl, .parquet), a glob such as parts/*.csv, or a list of files; required", "paths")
    valid: str | None = _f(None, "validation file; if null, a seeded stratified split of train is used", "path")
    test: str | None = _f(None, "test file, evaluated once after training; optional", "path")
    text_column: str = _f("text", "column that holds the text", "str")
    label_column: str = _f("label", "column that holds the label (or the joined labels for multi-label)", "str")
    label_separator: str = _f("|", "separator between labels in one cell for multi-label tasks", "str")
    valid_fraction: float = _f(0.1, "share of train held out for validation when data.valid is null", "float", lo=0.01, hi=0.5)
    encoding: str = _f("utf-8", "text encoding of CSV/TSV/JSONL files (a BOM is detected and handled)", "str")
    on_bad_rows: str = _f("error", "what to do with rows that cannot be read: error or skip", "choice", ("error", "skip"))
    max_bad_fraction: float = _f(0.01, "with on_bad_rows: skip, fail if more than this share of rows is bad", "float", lo=0.0, hi=1.0)
    stream: str = _f("auto", "read training data from disk in chunks instead of into memory: true, false, or auto (when the training files total over 1 GiB)", "choice", ("auto", "true", "false"))
    shuffle_buffer: int = _f(50000, "streaming: rows shuffled together (batches are drawn from a window of this many rows)", "int", lo=1)
    vocab_sample_rows: int = _f(200000, "streaming: the vocabulary and IDF are fitted on a uniform sample of this many training rows", "int", lo=1)
    valid_max_rows: int = _f(50000, "streaming: validation rows kept in memory (a uniform sample when there are more)", "int", lo=1)


STANDARDIZE = ("lower_and_split_punctuation", "lower_and_strip_punctuation", "lower", "none")


@dataclass(frozen=True)
class ModelConfig:
    """The vocabulary and the network: Embedding -> (Bi)LSTM -> pooling -> Dense, plus an n-gram branch."""

    max_tokens: int = _f(30000, "vocabulary size, including the padding and out-of-vocabulary tokens", "int", lo=3)
    sequence_length: int = _f(128, "the RNN reads this many tokens of each text (the n-gram branch reads ngram_length)", "int", lo=1)
    standardize: str = _f("lower_and_split_punctuation",
                          "text normalization: lower_and_split_punctuation, lower_and_strip_punctuation, lower or none",
                          "choice", STANDARDIZE)
    embedding_dim: int = _f(128, "size of the word embeddings", "int", lo=1)
    pretrained_vectors: str | None = _f(None, "word vectors to start the embeddings from: a word2vec, GloVe or fastText text file (.txt, .vec, optionally .gz) with embedding_dim numbers per word; null = random", "path")
    rnn: str = _f("lstm", "recurrent layer type: lstm or gru", "choice", ("lstm", "gru"))
    units: int = _f(64, "units per recurrent layer (per direction)", "int", lo=1)
    layers: int = _f(1, "number of stacked recurrent layers", "int", lo=1, hi=8)
    bidirectional: bool = _f(True, "read the text in both directions", "bool")
    pooling: str = _f("max", "how the sequence becomes one vector: max, mean or last", "choice", ("max", "mean", "last"))
    embedding_dropout: float = _f(0.25, "dropout on the embeddings", "float", lo=0.0, hi=0.9)
    dropout: float = _f(0.4, "dropout before the output layer", "float", lo=0.0, hi=0.9)
    ngrams: int = _f(2, "n-gram branch: longest n-gram of a linear TF-IDF bag-of-n-grams model added to the RNN (0 = off)", "int", lo=0, hi=3)
    ngram_max_tokens: int = _f(500000, "vocabulary size of the n-gram branch", "int", lo=3)
    ngram_standardize: str = _f("lower_and_strip_punctuation", "text normalization of the n-gram branch (choices as for standardize): without punctuation its n-grams are word n-grams", "choice", STANDARDIZE)
    ngram_length: int = _f(2048, "the n-gram branch reads this many n-grams of each text (it is cheap, so more than the RNN)", "int", lo=1)


@dataclass(frozen=True)
class TrainConfig:
    """The training loop."""

    epochs: int = _f(10, "maximum number of passes over the training data", "int", lo=1)
    batch_size: int = _f(64, "examples per step (across all replicas)", "int", lo=1)
    learning_rate: float = _f(0.002, "Adam learning rate", "float", above=0.0)
    ngram_learning_rate: float = _f(0.1, "Adam learning rate of the linear n-gram branch (a linear model needs larger steps than the RNN to converge as fast)", "float", lo=0.0)
    seed: int = _f(13, "random seed for the split, initialization and shuffling (CPU runs repeat exactly)", "int", lo=0)
    early_stopping_patience: int = _f(2, "stop after this many epochs without a better validation figure (early_stopping_monitor; 0 = never stop early)", "int", lo=0)
    early_stopping_monitor: str = _f("metric", "the validation figure that picks the best epoch (whose weights are kept) and drives early stopping: metric (accuracy; micro-F1 for multi-label; the lower loss breaks a tie) or loss", "choice", ("metric", "loss"))
    checkpoint_every_steps: int = _f(0, "also checkpoint every N batches inside an epoch (0 = only at epoch ends)", "int", lo=0)
    class_weight: str = _f("none", "none, or auto to weight classes (labels, for multi-label) by inverse frequency", "choice", ("none", "auto"))
    mixed_precision: bool = _f(False, "compute in float16 on GPU (ignored on CPU, where it is slower)", "bool")
    device: str = _f("auto", "auto, cpu or gpu", "choice", ("auto", "cpu", "gpu"))
    runs_dir: str = _f("runs", "folder for new run directories when --run-dir is not given (relative to the working directory)", "str")
    tensorboard: bool = _f(True, "write TensorBoard logs into the run directory", "bool")
    verbose: bool = _f(True, "show the Keras progress bar", "bool")
    plots: bool = _f(True, "draw training_curves.png and confusion_matrix.png into the run directory", "bool")
    threshold_objective: str = _f("f1", "binary and multi-label: tune each label's decision threshold on validation for f1, or to reach threshold_target precision or recall; none keeps 0.5", "choice", ("f1", "precision", "recall", "none"))
    threshold_target: float = _f(0.9, "the precision or recall to reach when threshold_objective is precision or recall", "float", lo=0.0, hi=1.0)


@dataclass(frozen=True)
class Config:
    """The whole, resolved configuration of a training run."""

    task: str = _f("auto", "auto, binary, multiclass or multilabel (auto: multilabel if any label cell holds the separator)", "choice", TASKS)
    data: DataConfig = field(default_factory=DataConfig)
    model: ModelConfig = field(default_factory=ModelConfig)
    train: TrainConfig = field(default_factory=TrainConfig)
    source: str | None = field(default=None, compare=False, metadata={"internal": True})

    def to_dict(self) -> dict:
        """The config as plain data, in the shape of the YAML file."""
        out: dict[str, Any] = {}
        for f in fields(self):
            if f.metadata.get("internal"):
                continue
            value = getattr(self, f.name)
            out[f.name] = dataclasses.asdict(value) if dataclasses.is_dataclass(value) else value
        return out

    def to_yaml(self) -> str:
        return yaml.safe_dump(self.to_dict(), sort_keys=False, allow_unicode=True)

    def replace(self, **sections: dict) -> "Config":
        """A copy with some keys changed, e.g. ``cfg.replace(train={"epochs": 2})``; validated."""
        data = self.to_dict()
        for name, values in sections.items():
            if isinstance(values, dict):
                data[name].update(values)
            else:
                data[name] = values
        return _build(data, {}, self.source)


SECTIONS = {"data": DataConfig, "model": ModelConfig, "train": TrainConfig}
PATH_KEYS = ("data.train", "data.valid", "data.test", "model.pretrained_vectors")


# --------------------------------------------------------------------------------------------------
# YAML parsing into located values


@dataclass
class _Val:
    value: Any
    raw: str | None  # the scalar's text as written, None for collections
    line: int | None  # 1-based
    origin: str  # file name or "--set"
    refused: bool = False  # already reported (e.g. an unsupported tag): not to be validated again


def _where(v: _Val, key: str) -> str:
    if v.line:
        return f"{key} (line {v.line})"
    return f"{key} (--set)" if v.origin == "--set" else key


_ALLOWED_TAGS = {
    "tag:yaml.org,2002:str",
    "tag:yaml.org,2002:int",
    "tag:yaml.org,2002:float",
    "tag:yaml.org,2002:bool",
    "tag:yaml.org,2002:null",
    "tag:yaml.org,2002:map",
    "tag:yaml.org,2002:seq",
}


def _yaml_error(exc: yaml.YAMLError, text: str, origin: str) -> ConfigError:
    """A located, plain-words ConfigError for a YAML syntax error."""
    if isinstance(exc, yaml.MarkedYAMLError):
        mark = exc.problem_mark
        where = f"line {mark.line + 1}, column {mark.column + 1}" if mark else "unknown position"
        problem = exc.problem or str(exc)
        hint = ""
        if "\\t" in problem or "\t" in problem or "tab" in problem.lower():
            hint = "; YAML does not allow tabs for indentation: indent with spaces"
        return ConfigError(f"not valid YAML at {where}: {problem}{hint}", origin)
    if isinstance(exc, yaml.reader.ReaderError):
        line = text[: exc.position].count("\n") + 1
        char = exc.character if isinstance(exc.character, int) else ord(exc.character[:1] or "?")
        return ConfigError(f"the control character U+{char:04X} (line {line}) is not allowed in YAML; remove it, "
                           "or save the file as plain UTF-8 text", origin)
    return ConfigError(f"not valid YAML: {exc}", origin)


def _compose(text: str, origin: str):
    """Parse YAML text into a node tree (run :func:`_scan_aliases` first)."""
    loader = yaml.SafeLoader(text)
    try:
        return loader.get_single_node()
    except yaml.YAMLError as exc:
        raise _yaml_error(exc, text, origin) from None
    finally:
        loader.dispose()


def _scan_aliases(text: str, origin: str) -> None:
    """Refuse anchors and aliases before composing: they are how YAML 'billion laughs' bombs work."""
    try:
        for token in yaml.scan(text, Loader=yaml.SafeLoader):
            if isinstance(token, (yaml.AliasToken, yaml.AnchorToken)):
                m = token.start_mark
                raise ConfigError(
                    f"YAML anchors and aliases (&name, *name) are not supported (line {m.line + 1}, "
                    f"column {m.column + 1}); write the values out in full",
                    origin,
                )
    except yaml.YAMLError as exc:
        raise _yaml_error(exc, text, origin) from None


def _scalar(node, origin: str, problems: list[str], key: str) -> _Val:
    line = node.start_mark.line + 1 if origin != "--set" else None
    at = f" at line {line}, column {node.start_mark.column + 1}" if line else ""
    if node.tag == "tag:yaml.org,2002:timestamp":
        problems.append(f"{key}{f' (line {line})' if line else ''}: received {node.value}, which YAML 1.1 reads as a date; "
                        f"quote it if you mean the text: '{node.value}'")
        return _Val(None, None, line, origin, refused=True)
    if node.tag not in _ALLOWED_TAGS:
        problems.append(
            f"{key}: unsupported YAML tag {node.tag!r}{at}; "
            "only plain values (strings, numbers, booleans, null) are allowed"
        )
        return _Val(None, None, line, origin, refused=True)
    if isinstance(node, yaml.ScalarNode):
        value = yaml.SafeLoader.construct_object(yaml.SafeLoader(""), node)  # standard tags only
        raw = node.value if node.style is None else None  # quoted scalars are strings as written
        return _Val(value, raw, line, origin)
    if isinstance(node, yaml.SequenceNode):
        items = [_scalar(n, origin, problems, f"{key}[{i}]") for i, n in enumerate(node.value)]
        return _Val([i.value for i in items], None, line, origin)
    return _Val(node, None, line, origin)  # a mapping where a value was expected: reported by the type check


def _mapping(node, origin: str, problems: list[str], key: str) -> dict[str, tuple[_Val, Any]] | None:
    """Convert a mapping node into {key: (located value, node)}, reporting duplicates and bad tags."""
    if node.tag not in _ALLOWED_TAGS:
        m = node.start_mark
        problems.append(f"{key or 'top level'}: unsupported YAML tag {node.tag!r} at line {m.line + 1}, column {m.column + 1}")
        return None
    if not isinstance(node, yaml.MappingNode):
        return None
    out: dict[str, tuple[_Val, Any]] = {}
    for knode, vnode in node.value:
        kline = knode.start_mark.line + 1
        if not isinstance(knode, yaml.ScalarNode) or knode.tag not in _ALLOWED_TAGS:
            problems.append(f"{key or 'top level'}: unsupported key at line {kline}")
            continue
        name = str(knode.value)
        path = f"{key}.{name}" if key else name
        if name in out:
            problems.append(f"{path}: duplicate key at line {kline} (first at line {out[name][0].line}); keep one")
            continue
        out[name] = (_Val(None, None, kline, origin), vnode)
    return out


# --------------------------------------------------------------------------------------------------
# Validation of one value


def _type_problem(key: str, meta: dict, v: _Val) -> tuple[Any, str | None]:
    """Return (converted value, problem or None) for one key."""
    kind, value, raw = meta["kind"], v.value, v.raw
    where = _where(v, key)
    if isinstance(value, yaml.Node):
        return None, f"{where}: received a mapping, expected a single value"
    if kind == "paths" and isinstance(value, list):
        if value and all(isinstance(x, str) and x.strip() for x in value):
            return value, None
        return None, f"{where}: received {value!r}, expected a non-empty list of file paths (strings)"
    if kind in ("path", "paths"):
        if value is None:
            return None, None
        if isinstance(value, str) and value.strip():
            return value, None
        return None, f"{where}: received {value!r}, expected a file path (a string) or null"
    if kind == "bool":
        if isinstance(value, bool):
            return value, None
        return None, f"{where}: received {value!r}, expected true or false"
    if kind == "int":
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
    if kind == "float":
        if isinstance(value, bool):
            return None, f"{where}: received {raw or value!r} (a boolean in YAML), expected a number"
        if isinstance(value, (int, float)):
            return _range(where, meta, float(value))
        if isinstance(value, str):
            try:
                number = float(value)
            except ValueError:
                return None, f"{where}: received {value!r}, expected a number"
            if raw is not None and re.fullmatch(r"[-+]?\d+(\.\d*)?[eE][-+]?\d+", raw.strip()):
                return None, (
                    f"{where}: received {raw}, which YAML 1.1 reads as a string; "
                    f"write it with a decimal point and a signed exponent ({number:.1e}) or as {number:g}"
                )
            return None, f"{where}: received the string {value!r}, expected a number; remove the quotes"
        return None, f"{where}: received {value!r}, expected a number"
    # str and choice
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
        close = difflib.get_close_matches(value, meta["choices"], n=1)
        hint = f"; did you mean {close[0]!r}?" if close else ""
        return None, f"{where}: received {value!r}, expected one of {', '.join(meta['choices'])}{hint}"
    if kind == "str" and value == "":
        return None, f"{where}: received an empty string, expected a non-empty value"
    return value, None


def _range(where: str, meta: dict, value):
    lo, hi, above = meta.get("lo"), meta.get("hi"), meta.get("above")
    if above is not None and value <= above:
        return None, f"{where}: received {value}, expected a number above {above}"
    if lo is not None and value < lo:
        return None, f"{where}: received {value}, expected at least {lo}"
    if hi is not None and value > hi:
        return None, f"{where}: received {value}, expected at most {hi}"
    return value, None


def _suggest(name: str, options: list[str]) -> str:
    close = difflib.get_close_matches(name, options, n=1, cutoff=0.6)
    return f"; did you mean {close[0]!r}?" if close else f"; valid keys: {', '.join(options)}"


# --------------------------------------------------------------------------------------------------
# Building the Config


def _top_fields() -> dict[str, dataclasses.Field]:
    return {f.name: f for f in fields(Config) if not f.metadata.get("internal")}


def _build(values: dict, located: dict[str, _Val], source: str | None, base_dir: Path | None = None,
           problems: list[str] | None = None) -> Config:
    """Validate plain ``values`` ({"task": .., "data": {..}, ..}) into a Config, raising all problems at once."""
    problems = problems if problems is not None else []
    top = _top_fields()
    kwargs: dict[str, Any] = {}
    for name, value in values.items():
        if name not in top:
            where = _where(located.get(name) or _Val(None, None, None, "--set" if source is None else ""), name)
            problems.append(f"{where}: unknown key{_suggest(name, list(top))}")
            continue
        if name in SECTIONS:
            if value is None:
                value = {}
            if not isinstance(value, dict):
                problems.append(f"{name}: expected a mapping of keys, received {value!r}")
                continue
            cls = SECTIONS[name]
            known = {f.name: f for f in fields(cls)}
            sect: dict[str, Any] = {}
            for key, v in value.items():
                path = f"{name}.{key}"
                lv = located.get(path) or _Val(v, None, None, "--set")
                if key not in known:
                    problems.append(f"{_where(lv, path)}: unknown key{_suggest(key, list(known))}")
                    continue
                if lv.refused:
                    continue
                converted, problem = _type_problem(path, known[key].metadata, lv)
                if problem:
                    problems.append(problem)
                    continue
                if path in PATH_KEYS and converted is not None:
                    converted = ([_resolve_path(x, lv, base_dir) for x in converted] if isinstance(converted, list)
                                 else _resolve_path(converted, lv, base_dir))
                sect[key] = converted
            kwargs[name] = sect
        else:
            lv = located.get(name) or _Val(value, None, None, "--set")
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
        source=source,
    )
    return cfg


def _resolve_path(value: str, lv: _Val, base_dir: Path | None) -> str:
    p = Path(os.path.expanduser(value))
    if not p.is_absolute():
        base = base_dir if (lv.origin != "--set" and base_dir is not None) else Path.cwd()
        p = base / p
    return str(Path(os.path.normpath(p)))


def _read_config_text(path: Path) -> str:
    if not path.exists():
        raise ConfigError(f"config file not found: {path}; check the path passed to --config")
    if not path.is_file():
        raise ConfigError(f"{path} is not a regular file; --config expects a YAML file")
    size = path.stat().st_size
    if size > MAX_CONFIG_BYTES:
        raise ConfigError(
            f"the file is {size:,} bytes, over the {MAX_CONFIG_BYTES:,}-byte limit for a config; "
            "is this the right file?", str(path))
    raw = path.read_bytes()
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise ConfigError(f"not UTF-8 text (undecodable byte at line {line}); save the file as UTF-8", str(path)) from None


def parse_override(item: str) -> tuple[str, _Val]:
    """Parse one ``--set section.key=value`` into (key path, located value)."""
    if "=" not in item:
        raise ConfigError(f"--set {item!r}: expected section.key=value, e.g. --set train.epochs=3")
    key, _, text = item.partition("=")
    key = key.strip()
    if not text.strip():
        return key, _Val(None, "", None, "--set")
    if re.fullmatch(r"\s*[|>][-+]?\s*|\s*[!&*%@`]\s*", text):
        # a lone YAML indicator (e.g. the separator |) means the character itself on a command line
        return key, _Val(text.strip(), None, None, "--set")
    problems: list[str] = []
    try:
        _scan_aliases(text, "--set")
        node = _compose(text, "--set")
    except ConfigError as exc:
        raise ConfigError(f"--set {item!r}: {exc.problems[0]}") from None
    if node is None:
        return key, _Val(None, "", None, "--set")
    lv = _scalar(node, "--set", problems, key)
    lv.line = None  # the line inside a one-line --set value means nothing to the user
    if problems:
        raise ConfigError([f"--set {p}" for p in problems])
    if isinstance(lv.value, yaml.Node):
        raise ConfigError(f"--set {item!r}: expected a single value, received a mapping")
    return key, lv


def load_config(path: str | os.PathLike | None = None, overrides: list[str] | tuple[str, ...] = ()) -> Config:
    """Load a YAML config file (optional), apply ``--set`` overrides, and validate everything.

    Args:
        path: a YAML file. ``None`` starts from the code defaults.
        overrides: strings like ``"train.epochs=3"``; values are parsed as YAML scalars.

    Returns:
        A frozen, validated :class:`Config`.

    Raises:
        ConfigError: listing every problem found, each with its key path (and line in the file).
    """
    values: dict[str, Any] = {}
    located: dict[str, _Val] = {}
    problems: list[str] = []
    source = None
    base_dir = None
    if path is not None:
        p = Path(path)
        source = str(p)
        base_dir = p.resolve().parent
        text = _read_config_text(p)
        if not text.strip():
            raise ConfigError("the config file is empty; start from configs/default.yaml", source)
        _scan_aliases(text, source)
        node = _compose(text, source)
        if node is None:
            raise ConfigError("the config file holds no settings; start from configs/default.yaml", source)
        top = _mapping(node, source, problems, "")
        if top is None:
            if not problems:
                problems.append(f"expected a mapping of sections (task, data, model, train) at the top level, "
                                f"received a {_node_kind(node)} at line {node.start_mark.line + 1}")
            raise ConfigError(problems, source)
        for name, (kv, vnode) in top.items():
            if name in SECTIONS and isinstance(vnode, yaml.MappingNode):
                sect = _mapping(vnode, source, problems, name)
                values[name] = {}
                for key, (skv, svnode) in (sect or {}).items():
                    lv = _scalar(svnode, source, problems, f"{name}.{key}")
                    lv.line = skv.line
                    values[name][key] = lv.value
                    located[f"{name}.{key}"] = lv
            elif name in SECTIONS and isinstance(vnode, yaml.ScalarNode) and vnode.tag == "tag:yaml.org,2002:null":
                values[name] = {}
            else:
                lv = _scalar(vnode, source, problems, name)
                lv.line = kv.line
                if name in SECTIONS:
                    problems.append(f"{name} (line {kv.line}): expected a mapping of keys, received {_node_kind(vnode)}")
                    continue
                values[name] = lv.value
                located[name] = lv
    for item in overrides:
        key, lv = parse_override(item)
        parts = key.split(".")
        if len(parts) == 1:
            values[key] = lv.value
            located[key] = lv
        elif len(parts) == 2 and parts[0] in SECTIONS:
            section = values.setdefault(parts[0], {})
            if not isinstance(section, dict):
                section = values[parts[0]] = {}
            section[parts[1]] = lv.value
            located[key] = lv
        else:
            options = [f"{s}.{f.name}" for s, c in SECTIONS.items() for f in fields(c)] + ["task"]
            problems.append(f"--set {key}: unknown key{_suggest(key, options)}")
    return _build(values, located, source, base_dir, problems)


def _node_kind(node) -> str:
    if isinstance(node, yaml.SequenceNode):
        return "list"
    if isinstance(node, yaml.MappingNode):
        return "mapping"
    return f"single value {node.value!r}"


# --------------------------------------------------------------------------------------------------
# The documented defaults file


def render_default_yaml() -> str:
    """The text of ``configs/default.yaml``: every key with its default and a one-line comment."""

    def fmt(value: Any) -> str:
        if value is None:
            return "null"
        if isinstance(value, bool):
            return "true" if value else "false"
        if isinstance(value, float):
            text = repr(value)
            return text if ("e" not in text or "." in text) else f"{value:.1e}"
        if isinstance(value, int):
            return str(value)
        return yaml.safe_dump(value, default_style=None).splitlines()[0] if value in ("|",) else (
            f'"{value}"' if re.search(r"[:#|{}\[\],&*!>'%@`]", value) or value == "" else value)

    lines = [
        "# textclf configuration: every key, with its default. Copy this file and change what you need.",
        "# Relative paths (data files, pretrained vectors) resolve against this file's folder. Override any key on the command line with",
        "#   textclf train --config FILE --set section.key=value",
        "",
    ]
    task = _top_fields()["task"]
    lines += [f"# {task.metadata['doc']}", f"task: {fmt(task.default)}", ""]
    for name, cls in SECTIONS.items():
        lines.append(f"{name}:  # {cls.__doc__.strip().splitlines()[0]}")
        for f in fields(cls):
            lines.append(f"  {f.name}: {fmt(f.default)}  # {f.metadata['doc']}")
        lines.append("")
    return "\n".join(lines).rstrip("\n") + "\n"
