"""Config: the documented defaults file, strict validation with located hints, YAML 1.1 traps, --set."""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path

import pytest
from support import assert_clean_error, cli

from textclf.config import Config, load_config, render_default_yaml
from textclf.errors import ConfigError

pytestmark = pytest.mark.fast  # no training, no TensorFlow: every test here is in the quick subset

REPO = Path(__file__).resolve().parents[1]


def write(tmp_path: Path, text: str, name: str = "c.yaml") -> Path:
    p = tmp_path / name
    p.write_text(text, encoding="utf-8")
    return p


def problems_of(path: Path, overrides=()) -> list[str]:
    with pytest.raises(ConfigError) as info:
        load_config(path, list(overrides))
    return info.value.problems


# --------------------------------------------------------------------------------------------------
# configs/default.yaml


def test_default_yaml_is_rendered_from_the_code():
    text = (REPO / "configs" / "default.yaml").read_text(encoding="utf-8")
    assert text == render_default_yaml()


def test_default_yaml_loads_to_the_code_defaults():
    assert load_config(REPO / "configs" / "default.yaml") == Config()


def test_default_yaml_documents_every_key_with_a_comment():
    text = render_default_yaml()
    for section in ("data", "model", "train"):
        cls = type(getattr(Config(), section))
        for f in dataclasses.fields(cls):
            line = next((ln for ln in text.splitlines() if ln.startswith(f"  {f.name}:")), None)
            assert line is not None, f"{section}.{f.name} missing from default.yaml"
            assert "  # " in line and line.split("  # ", 1)[1].strip(), f"{section}.{f.name} has no comment"
    assert re.search(r"^task: auto$", text, re.M)


# --------------------------------------------------------------------------------------------------
# Unknown keys, several problems at once


def test_unknown_key_gets_did_you_mean(tmp_path):
    p = write(tmp_path, "train:\n  epocs: 3\n")
    [problem] = problems_of(p)
    assert "train.epocs" in problem
    assert "did you mean 'epochs'" in problem


def test_unknown_top_level_key_gets_did_you_mean(tmp_path):
    p = write(tmp_path, "trian:\n  epochs: 3\n")
    [problem] = problems_of(p)
    assert "trian" in problem and "did you mean 'train'" in problem


def test_several_problems_listed_at_once_with_key_paths_and_lines(tmp_path):
    p = write(tmp_path, "task: multi\ndata:\n  valid_fraction: 2.0\ntrain:\n  epochs: 0\n  batch_size: many\n")
    with pytest.raises(ConfigError) as info:
        load_config(p)
    probs = info.value.problems
    assert len(probs) == 4, probs
    text = str(info.value)
    assert str(p) in text and "4 problems" in text
    expect = {"task": 1, "data.valid_fraction": 3, "train.epochs": 5, "train.batch_size": 6}
    for key, line in expect.items():
        match = [q for q in probs if q.startswith(key)]
        assert match, (key, probs)
        assert f"line {line}" in match[0], match[0]
    assert "did you mean 'multi" in text  # multiclass or multilabel: both are as close


def test_unknown_key_among_other_problems_names_its_line(tmp_path):
    # a typo plus two other errors: all listed, each with its key path and line
    p = write(tmp_path, "train:\n  epochs: -1\n  epocs: 3\n  learning_rate: fast\n")
    probs = problems_of(p)
    assert len(probs) == 3, probs
    typo = next(q for q in probs if "epocs" in q)
    assert "train.epocs" in typo and "did you mean 'epochs'" in typo
    assert "line 3" in typo, f"the unknown key's problem does not say where it is: {typo!r}"


# --------------------------------------------------------------------------------------------------
# YAML 1.1 traps, each with its own hint


@pytest.mark.parametrize(
    "line, key, hint",
    [
        ("train:\n  learning_rate: 1e-3\n", "train.learning_rate", "YAML 1.1 reads as a string"),
        ("data:\n  label_column: no\n", "data.label_column", "quote it"),
        ("train:\n  seed: 010\n", "train.seed", "octal"),
        ('train:\n  batch_size: "32"\n', "train.batch_size", "remove the quotes"),
        ("train:\n  epochs: 3.0\n", "train.epochs", "write 3"),
        ("train:\n  verbose: maybe\n", "train.verbose", "expected true or false"),
    ],
)
def test_yaml_11_trap_has_specific_hint(tmp_path, line, key, hint):
    [problem] = problems_of(write(tmp_path, line))
    assert problem.startswith(key), problem
    assert "line 2" in problem, problem
    assert hint in problem, problem


def test_octal_hint_suggests_decimal_value(tmp_path):
    [problem] = problems_of(write(tmp_path, "train:\n  seed: 010\n"))
    assert "octal number 8" in problem and "(10)" in problem


def test_label_column_no_hint_names_boolean(tmp_path):
    [problem] = problems_of(write(tmp_path, "data:\n  label_column: no\n"))
    assert "boolean false" in problem and "'no'" in problem


def test_exponent_with_decimal_point_is_accepted(tmp_path):
    cfg = load_config(write(tmp_path, "train:\n  learning_rate: 1.0e-3\n"))
    assert cfg.train.learning_rate == pytest.approx(1e-3)


def test_quoted_no_is_a_string(tmp_path):
    cfg = load_config(write(tmp_path, "data:\n  label_column: 'no'\n"))
    assert cfg.data.label_column == "no"


# --------------------------------------------------------------------------------------------------
# Unsafe or malformed YAML


@pytest.mark.parametrize(
    "template",
    [
        "train:\n  epochs: !!python/object/apply:os.system ['touch {canary}']\n",
        "task: !!python/object/apply:os.system ['touch {canary}']\n",
        "data: !!python/object/apply:os.system\n  args: ['touch {canary}']\n",
        "!!python/object/apply:os.system ['touch {canary}']\n",
    ],
)
def test_python_tag_refused_and_never_run(tmp_path, template):
    canary = tmp_path / "canary"
    p = write(tmp_path, template.format(canary=canary))
    with pytest.raises(ConfigError) as info:
        load_config(p)
    assert "unsupported YAML tag" in str(info.value)
    assert re.search(r"line \d+, column \d+", str(info.value))
    assert not canary.exists()


def test_bad_tag_is_one_problem_not_two(tmp_path):
    # the refused value must not be reported a second time as "received None, expected an integer"
    probs = problems_of(write(tmp_path, "train:\n  epochs: !!python/object/apply:os.system ['true']\n"))
    assert len(probs) == 1, probs
    assert "unsupported YAML tag" in probs[0]


def test_python_tag_via_cli_exit_2_canary_absent(tmp_path):
    canary = tmp_path / "canary"
    p = write(tmp_path, f"train:\n  epochs: !!python/object/apply:os.system ['touch {canary}']\n")
    assert_clean_error(cli("train", "--config", p), 2, "unsupported YAML tag", "line 2")
    assert not canary.exists()


def test_python_tag_in_set_refused(tmp_path):
    canary = tmp_path / "canary"
    with pytest.raises(ConfigError, match="unsupported YAML tag"):
        load_config(None, [f"train.epochs=!!python/object/apply:os.system ['touch {canary}']"])
    assert not canary.exists()


def test_duplicate_key(tmp_path):
    [problem] = problems_of(write(tmp_path, "train:\n  epochs: 3\n  epochs: 4\n"))
    assert "train.epochs" in problem and "duplicate key at line 3" in problem and "first at line 2" in problem


def test_duplicate_section(tmp_path):
    [problem] = problems_of(write(tmp_path, "train:\n  epochs: 3\ntrain:\n  seed: 4\n"))
    assert "train" in problem and "duplicate key" in problem


def test_empty_file(tmp_path):
    [problem] = problems_of(write(tmp_path, ""))
    assert "empty" in problem


def test_comments_only_file(tmp_path):
    [problem] = problems_of(write(tmp_path, "# nothing here\n"))
    assert "no settings" in problem


def test_top_level_list(tmp_path):
    [problem] = problems_of(write(tmp_path, "- train\n- data\n"))
    assert "expected a mapping" in problem and "list" in problem and "line 1" in problem


def test_tabs(tmp_path):
    [problem] = problems_of(write(tmp_path, "train:\n\tepochs: 3\n"))
    assert "tabs" in problem and "line 2" in problem


@pytest.mark.parametrize(
    "text",
    [
        "train:\n  epochs: &n 3\n  seed: *n\n",
        "a: &a ['x', 'x']\nb: &b [*a, *a]\nc: [*b, *b]\n",
    ],
)
def test_anchor_and_alias_refused(tmp_path, text):
    [problem] = problems_of(write(tmp_path, text))
    assert "anchors and aliases" in problem and "line" in problem


def test_oversized_file(tmp_path):
    p = write(tmp_path, "# " + "x" * 2_000_000 + "\n")
    [problem] = problems_of(p)
    assert "limit" in problem


def test_mapping_where_value_expected(tmp_path):
    [problem] = problems_of(write(tmp_path, "train:\n  epochs:\n    a: 1\n"))
    assert "train.epochs" in problem and "mapping" in problem


def test_section_that_is_not_a_mapping(tmp_path):
    [problem] = problems_of(write(tmp_path, "train: 5\n"))
    assert problem.startswith("train") and "expected a mapping" in problem


def test_missing_config_file_exit_2(tmp_path):
    assert_clean_error(cli("train", "--config", tmp_path / "nope.yaml"), 2, "config file not found")


def test_non_utf8_config(tmp_path):
    p = tmp_path / "c.yaml"
    p.write_bytes(b"train:\n  epochs: 3\n# caf\xe9\n")
    [problem] = problems_of(p)
    assert "UTF-8" in problem and "line 3" in problem


@pytest.mark.parametrize(
    "text, needle",
    [
        ("train:\n  epocs: 3\n", "did you mean 'epochs'"),
        ("train:\n  learning_rate: 1e-3\n", "YAML 1.1"),
        ("train:\n  epochs: 3\n  epochs: 3\n", "duplicate key"),
        ("", "empty"),
        ("- a\n", "expected a mapping"),
        ("train:\n\tepochs: 3\n", "tabs"),
        ("train:\n  epochs: &x 3\n  seed: *x\n", "anchors and aliases"),
    ],
)
def test_config_errors_via_cli_exit_2_without_traceback(tmp_path, text, needle):
    p = write(tmp_path, text)
    out = assert_clean_error(cli("train", "--config", p), 2, needle)
    assert "Traceback" not in out


def test_debug_flag_shows_traceback(tmp_path):
    p = write(tmp_path, "train:\n  epocs: 3\n")
    result = cli("--debug", "train", "--config", p)
    assert result.exit_code == 2
    assert "Traceback" in result.output and "did you mean 'epochs'" in result.output


# --------------------------------------------------------------------------------------------------
# --set overrides and precedence


def test_precedence_default_file_set(tmp_path):
    p = write(tmp_path, "train:\n  epochs: 5\n  batch_size: 16\n")
    cfg = load_config(p, ["train.epochs=7"])
    assert cfg.train.epochs == 7  # --set beats the file
    assert cfg.train.batch_size == 16  # the file beats the default
    assert cfg.train.seed == Config().train.seed  # the default where nothing is said


def test_set_repeats_and_last_wins(tmp_path):
    cfg = load_config(None, ["train.epochs=3", "train.epochs=4", "task=multiclass", "model.bidirectional=false"])
    assert cfg.train.epochs == 4 and cfg.task == "multiclass" and cfg.model.bidirectional is False


def test_set_unknown_key(tmp_path):
    with pytest.raises(ConfigError) as info:
        load_config(None, ["train.epocs=3"])
    assert "epocs" in str(info.value) and "did you mean 'epochs'" in str(info.value)
    with pytest.raises(ConfigError) as info:
        load_config(None, ["trian.epochs=3"])
    assert "did you mean 'train.epochs'" in str(info.value)


def test_set_bad_value(tmp_path):
    with pytest.raises(ConfigError, match=r"train\.epochs.*received 'abc', expected an integer"):
        load_config(None, ["train.epochs=abc"])
    with pytest.raises(ConfigError, match="YAML 1.1 reads as a string"):
        load_config(None, ["train.learning_rate=1e-3"])


def test_set_bad_value_is_not_located_in_the_file(tmp_path):
    # A --set value has no line in the config file; the message must not point at "line 1" of it.
    p = write(tmp_path, "# comment\ntrain:\n  epochs: 2\n")
    [problem] = problems_of(p, ["train.epochs=abc"])
    assert "--set" in problem, problem
    assert "line 1" not in problem, problem


def test_set_the_default_separator(tmp_path):
    # `|` is the documented default separator; `--set data.label_separator=|` must either work or say how
    # to quote it (a bare `|` is a YAML block-scalar indicator), not claim an empty string was received.
    try:
        cfg = load_config(None, ["data.label_separator=|"])
    except ConfigError as exc:
        assert "quote" in str(exc), str(exc)
    else:
        assert cfg.data.label_separator == "|"
    assert load_config(None, ["data.label_separator='|'"]).data.label_separator == "|"


def test_date_like_value_gets_one_clear_problem(tmp_path):
    # YAML 1.1 reads 2024-01-01 as a date: one problem for the key, with a hint to quote it
    probs = problems_of(write(tmp_path, "data:\n  text_column: 2024-01-01\n"))
    assert len(probs) == 1, probs
    assert "data.text_column" in probs[0] and "line 2" in probs[0] and "quote" in probs[0], probs[0]


def test_set_without_equals(tmp_path):
    with pytest.raises(ConfigError, match="expected section.key=value"):
        load_config(None, ["train.epochs"])


def test_set_errors_via_cli_exit_2(tmp_path):
    p = write(tmp_path, "train:\n  epochs: 2\n")
    assert_clean_error(cli("train", "--config", p, "--set", "train.epocs=3"), 2, "did you mean 'epochs'")
    assert_clean_error(
        cli("train", "--config", p, "--set", "train.epochs=lots"), 2, "train.epochs", "expected an integer"
    )
    assert_clean_error(cli("train", "--config", p, "--set", "nonsense"), 2, "section.key=value")


def test_set_problems_listed_with_file_problems(tmp_path):
    p = write(tmp_path, "train:\n  epochs: 0\n")
    probs = problems_of(p, ["model.units=none"])
    assert any(q.startswith("train.epochs") for q in probs) and any(q.startswith("model.units") for q in probs)


# --------------------------------------------------------------------------------------------------
# Paths


def test_relative_data_paths_resolve_against_config_folder(tmp_path, monkeypatch):
    conf_dir = tmp_path / "project" / "configs"
    conf_dir.mkdir(parents=True)
    p = write(conf_dir, "data:\n  train: ../data/train.csv\n  test: t.csv\n")
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    cfg = load_config(p)
    assert Path(cfg.data.train) == tmp_path / "project" / "data" / "train.csv"
    assert Path(cfg.data.test) == conf_dir / "t.csv"
    assert cfg.data.valid is None


def test_relative_set_path_resolves_against_cwd(tmp_path, monkeypatch):
    p = write(tmp_path, "data:\n  train: a.csv\n")
    cwd = tmp_path / "cwd"
    cwd.mkdir()
    monkeypatch.chdir(cwd)
    cfg = load_config(p, ["data.train=b.csv"])
    assert Path(cfg.data.train) == cwd / "b.csv"


def test_missing_train_file_named_with_resolved_path_exit_2(tmp_path, monkeypatch):
    conf_dir = tmp_path / "conf"
    conf_dir.mkdir()
    p = write(conf_dir, "data:\n  train: nothere.csv\n")
    monkeypatch.chdir(tmp_path)
    assert_clean_error(cli("train", "--config", p), 2, "not found", str(conf_dir / "nothere.csv"))


def test_train_not_set_exit_2(tmp_path):
    p = write(tmp_path, "train:\n  epochs: 1\n")
    assert_clean_error(cli("train", "--config", p), 2, "data.train is not set")


def test_config_replace_validates():
    cfg = Config().replace(train={"epochs": 3})
    assert cfg.train.epochs == 3
    with pytest.raises(ConfigError):
        Config().replace(train={"epochs": 0})


def test_resolved_config_round_trips_through_yaml(tmp_path):
    cfg = load_config(None, ["train.epochs=3", "data.label_separator=;", "task=multilabel"])
    again = load_config(write(tmp_path, cfg.to_yaml()))
    assert again == cfg


# --------------------------------------------------------------------------------------------------
# Property: whatever the file holds, the loader answers with a Config or a ConfigError, nothing else

from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

_scalars = st.one_of(st.none(), st.booleans(), st.integers(), st.floats(allow_nan=True), st.text(max_size=20))
_keys = st.one_of(
    st.sampled_from(
        [
            "task",
            "data",
            "model",
            "train",
            "epochs",
            "train.epochs",
            "batch_size",
            "text_column",
            "learning_rate",
            "seed",
        ]
    ),
    st.text(max_size=10),
)
_documents = st.recursive(
    _scalars,
    lambda inner: st.one_of(st.lists(inner, max_size=4), st.dictionaries(_keys, inner, max_size=5)),
    max_leaves=20,
)
_yaml_bits = st.sampled_from(
    [
        "&a ",
        "*a",
        "!!python/object:os.system ",
        "!!binary ",
        "!!timestamp ",
        "- ",
        ": ",
        "\t",
        "{",
        "}",
        "[",
        "]",
        "|",
        ">",
        "%YAML 1.1\n",
        "---\n",
        "...\n",
        "? ",
        "'",
        '"',
        "#",
        "\n  ",
        "\x00",
        "\ufeff",
        "1e-3",
        "010",
        "no",
        "0x1F",
        ".inf",
    ]
)


def _check_loader(tmp_path, text: str) -> None:
    path = tmp_path / "c.yaml"
    path.write_text(text, encoding="utf-8", errors="surrogatepass")
    try:
        result = load_config(path)
    except ConfigError:
        return
    assert isinstance(result, Config)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(doc=_documents)
def test_property_loader_answers_any_yaml_document_with_config_or_config_error(tmp_path, doc):
    import yaml

    _check_loader(tmp_path, yaml.safe_dump(doc, allow_unicode=True))


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(parts=st.lists(st.one_of(_yaml_bits, st.text(max_size=8)), max_size=30))
def test_property_loader_answers_arbitrary_text_with_config_or_config_error(tmp_path, parts):
    text = "".join(parts)
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return  # lone surrogates cannot be written as UTF-8 text
    _check_loader(tmp_path, text)


def test_a_learning_rate_of_zero_is_refused_by_the_config():
    with pytest.raises(ConfigError, match=r"train\.learning_rate.*received 0\.0, expected a number above 0\.0"):
        load_config(None, ["data.train=t.csv", "train.learning_rate=0"])
