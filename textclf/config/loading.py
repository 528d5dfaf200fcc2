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

import os
import re
import stat
from dataclasses import fields
from pathlib import Path
from typing import Any

import yaml

from ..errors import ConfigError
from .schema import SECTIONS, Config, Located, build_config, suggest
from .space import SPACE_KEY

MAX_CONFIG_BYTES = 1_000_000


# --------------------------------------------------------------------------------------------------
# YAML parsing into located values


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
        return ConfigError(
            f"the control character U+{char:04X} (line {line}) is not allowed in YAML; remove it, "
            "or save the file as plain UTF-8 text",
            origin,
        )
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


MAX_DEPTH = 8  # a config is a mapping of sections of values (a list of paths at most): 3 levels


def _scan_aliases(text: str, origin: str) -> None:
    """Refuse, before composing: anchors and aliases (how YAML 'billion laughs' bombs work) and structures nested
    deeper than a config can be (PyYAML composes them by recursion, slowly, until Python's limit)."""
    starts = (yaml.BlockMappingStartToken, yaml.BlockSequenceStartToken, yaml.FlowMappingStartToken,
              yaml.FlowSequenceStartToken)  # fmt: skip
    ends = (yaml.BlockEndToken, yaml.FlowMappingEndToken, yaml.FlowSequenceEndToken)
    depth = 0
    try:
        for token in yaml.scan(text, Loader=yaml.SafeLoader):
            m = token.start_mark
            if isinstance(token, (yaml.AliasToken, yaml.AnchorToken)):
                raise ConfigError(
                    f"YAML anchors and aliases (&name, *name) are not supported (line {m.line + 1}, "
                    f"column {m.column + 1}); write the values out in full",
                    origin,
                )
            depth += isinstance(token, starts) - isinstance(token, ends)
            if depth > MAX_DEPTH:
                raise ConfigError(
                    f"the YAML is nested more than {MAX_DEPTH} levels deep (line {m.line + 1}, column {m.column + 1}); "
                    "a config holds sections of single values: task, data, model, train",
                    origin,
                )
    except yaml.YAMLError as exc:
        raise _yaml_error(exc, text, origin) from None


def _scalar(node, origin: str, problems: list[str], key: str) -> Located:
    line = node.start_mark.line + 1 if origin != "--set" else None
    at = f" at line {line}, column {node.start_mark.column + 1}" if line else ""
    if node.tag == "tag:yaml.org,2002:timestamp":
        problems.append(
            f"{key}{f' (line {line})' if line else ''}: received {node.value}, which YAML 1.1 reads as a date; "
            f"quote it if you mean the text: '{node.value}'"
        )
        return Located(None, None, line, origin, refused=True)
    if node.tag not in _ALLOWED_TAGS:
        problems.append(
            f"{key}: unsupported YAML tag {node.tag!r}{at}; "
            "only plain values (strings, numbers, booleans, null) are allowed"
        )
        return Located(None, None, line, origin, refused=True)
    if isinstance(node, yaml.ScalarNode):
        value = yaml.SafeLoader.construct_object(yaml.SafeLoader(""), node)  # standard tags only
        raw = node.value if node.style is None else None  # quoted scalars are strings as written
        return Located(value, raw, line, origin)
    if isinstance(node, yaml.SequenceNode):
        items = [_scalar(n, origin, problems, f"{key}[{i}]") for i, n in enumerate(node.value)]
        return Located([i.value for i in items], None, line, origin)
    return Located(node, None, line, origin)  # a mapping where a value was expected: reported by the type check


def _plain(node, origin: str, problems: list[str], key: str, located: dict[str, Located]) -> Any:
    """A node of ``tune.space`` (mappings of lists and ranges) as plain data; each scalar's location is kept in
    ``located`` under its key path (``tune.space.model.units[0]``, ``tune.space.train.learning_rate.low``)."""
    if isinstance(node, yaml.MappingNode):
        out = {}
        for name, (kv, vnode) in (_mapping(node, origin, problems, key) or {}).items():
            out[name] = _plain(vnode, origin, problems, f"{key}.{name}", located)
            line = kv.line if origin != "--set" else None
            located.setdefault(f"{key}.{name}", Located(out[name], None, line, origin)).line = line
        return out
    if isinstance(node, yaml.SequenceNode) and node.tag in _ALLOWED_TAGS:
        return [_plain(n, origin, problems, f"{key}[{i}]", located) for i, n in enumerate(node.value)]
    lv = _scalar(node, origin, problems, key)
    if origin == "--set":
        lv.line = None
    located[key] = lv
    return lv.value


def _mapping(node, origin: str, problems: list[str], key: str) -> dict[str, tuple[Located, Any]] | None:
    """Convert a mapping node into {key: (located value, node)}, reporting duplicates and bad tags."""
    if node.tag not in _ALLOWED_TAGS:
        m = node.start_mark
        problems.append(
            f"{key or 'top level'}: unsupported YAML tag {node.tag!r} at line {m.line + 1}, column {m.column + 1}"
        )
        return None
    if not isinstance(node, yaml.MappingNode):
        return None
    out: dict[str, tuple[Located, Any]] = {}
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
        out[name] = (Located(None, None, kline, origin), vnode)
    return out


def _read_config_text(path: Path) -> str:
    try:
        st = path.stat()
    except FileNotFoundError:
        raise ConfigError(f"config file not found: {path}; check the path passed to --config") from None
    except OSError as exc:
        raise ConfigError(
            f"cannot read the config file {path}: {exc.strerror}; check the path and its permissions"
        ) from None
    if not stat.S_ISREG(st.st_mode):
        raise ConfigError(f"{path} is not a regular file; --config expects a YAML file")
    size = st.st_size
    if size > MAX_CONFIG_BYTES:
        raise ConfigError(
            f"the file is {size:,} bytes, over the {MAX_CONFIG_BYTES:,}-byte limit for a config; "
            "is this the right file?",
            str(path),
        )
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise ConfigError(f"cannot read the config file {path}: {exc.strerror}; check its permissions") from None
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise ConfigError(
            f"not UTF-8 text (undecodable byte at line {line}); save the file as UTF-8", str(path)
        ) from None


def parse_override(item: str) -> tuple[str, Located]:
    """Parse one ``--set section.key=value`` into (key path, located value)."""
    shown = item if len(item) <= 80 else item[:77] + "..."
    if "=" not in item:
        raise ConfigError(f"--set {shown!r}: expected section.key=value, e.g. --set train.epochs=3")
    key, _, text = item.partition("=")
    key = key.strip()
    if not text.strip():
        return key, Located(None, "", None, "--set")
    if re.fullmatch(r"\s*[|>][-+]?\s*|\s*[!&*%@`]\s*", text):
        # a lone YAML indicator (e.g. the separator |) means the character itself on a command line
        return key, Located(text.strip(), None, None, "--set")
    problems: list[str] = []
    try:
        _scan_aliases(text, "--set")
        node = _compose(text, "--set")
    except ConfigError as exc:
        raise ConfigError(f"--set {shown!r}: {exc.problems[0]}") from None
    if node is None:
        return key, Located(None, "", None, "--set")
    lv = _scalar(node, "--set", problems, key)
    lv.line = None  # the line inside a one-line --set value means nothing to the user
    if isinstance(lv.value, yaml.Node) and (key == SPACE_KEY or key.startswith(f"{SPACE_KEY}.")):
        lv.parts = {}
        lv.value = _plain(lv.value, "--set", problems, key, lv.parts)  # a search space entry: {low: L, high: H}
    if problems:
        raise ConfigError([f"--set {p}" for p in problems])
    if isinstance(lv.value, yaml.Node):
        raise ConfigError(f"--set {shown!r}: expected a single value, received a mapping")
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
    located: dict[str, Located] = {}
    problems: list[str] = []
    source = base_dir = None
    if path is not None:
        source, base_dir = str(path), Path(path).resolve().parent
        _read_file_values(Path(path), values, located, problems)
    for item in overrides:
        _apply_override(item, values, located, problems)
    return build_config(values, located, source, base_dir, problems)


def _read_file_values(p: Path, values: dict, located: dict[str, Located], problems: list[str]) -> None:
    """Parse a config file into ``values`` and ``located``; syntax errors raise, value problems are appended."""
    source = str(p)
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
            problems.append(
                f"expected a mapping of sections (task, data, model, train) at the top level, "
                f"received a {_node_kind(node)} at line {node.start_mark.line + 1}"
            )
        raise ConfigError(problems, source)
    for name, (kv, vnode) in top.items():
        if name in SECTIONS and isinstance(vnode, yaml.MappingNode):
            values[name] = {}
            for key, (skv, svnode) in (_mapping(vnode, source, problems, name) or {}).items():
                if f"{name}.{key}" == SPACE_KEY and isinstance(svnode, yaml.MappingNode):
                    values[name][key] = _plain(svnode, source, problems, SPACE_KEY, located)
                    located[SPACE_KEY] = Located(values[name][key], None, skv.line, source)
                    continue
                lv = _scalar(svnode, source, problems, f"{name}.{key}")
                lv.line = skv.line
                values[name][key] = lv.value
                located[f"{name}.{key}"] = lv
        elif name in SECTIONS and isinstance(vnode, yaml.ScalarNode) and vnode.tag == "tag:yaml.org,2002:null":
            values[name] = {}
        elif name in SECTIONS:
            _scalar(vnode, source, problems, name)
            problems.append(f"{name} (line {kv.line}): expected a mapping of keys, received {_node_kind(vnode)}")
        else:
            lv = _scalar(vnode, source, problems, name)
            lv.line = kv.line
            values[name] = lv.value
            located[name] = lv


def _apply_override(item: str, values: dict, located: dict[str, Located], problems: list[str]) -> None:
    """Put one ``--set section.key=value`` into ``values`` (after the file's values: it wins)."""
    key, lv = parse_override(item)
    located.update(lv.parts or {})  # a search space entry's scalars
    parts = key.split(".")
    if len(parts) == 1:
        values[key] = lv.value
        located[key] = lv
    elif len(parts) > 2 and key.startswith(f"{SPACE_KEY}."):  # one entry of the search space
        tune = values["tune"] = values["tune"] if isinstance(values.get("tune"), dict) else {}
        space = tune["space"] = tune["space"] if isinstance(tune.get("space"), dict) else {}
        space[key[len(SPACE_KEY) + 1 :]] = lv.value
        located[key] = lv
    elif len(parts) == 2 and parts[0] in SECTIONS:
        section = values.setdefault(parts[0], {})
        if not isinstance(section, dict):
            section = values[parts[0]] = {}
        section[parts[1]] = lv.value
        located[key] = lv
    else:
        options = [f"{s}.{f.name}" for s, c in SECTIONS.items() for f in fields(c)] + ["task"]
        problems.append(f"--set {key}: unknown key{suggest(key, options)}")


def _node_kind(node) -> str:
    if isinstance(node, yaml.SequenceNode):
        return "list"
    if isinstance(node, yaml.MappingNode):
        return "mapping"
    return f"single value {node.value!r}"
