"""The one config object: frozen dataclasses with documented defaults, strict YAML loading, ``--set``.

* :mod:`.schema`: the dataclasses (:class:`Config` and its sections) and the validation of plain values;
* :mod:`.loading`: :func:`load_config`, which parses YAML safely and applies ``--set`` overrides;
* :mod:`.defaults`: the text of ``configs/default.yaml``, generated from the dataclasses.

Precedence is code defaults < YAML file < ``--set section.key=value``. No TensorFlow here.
"""

from __future__ import annotations

from .defaults import render_default_yaml
from .loading import load_config, parse_override
from .schema import PATH_KEYS, SECTIONS, STANDARDIZE, TASKS, Config, DataConfig, ModelConfig, TrainConfig, TuneConfig

__all__ = [
    "Config",
    "DataConfig",
    "ModelConfig",
    "TrainConfig",
    "TuneConfig",
    "load_config",
    "parse_override",
    "render_default_yaml",
    "STANDARDIZE",
    "TASKS",
    "SECTIONS",
    "PATH_KEYS",
]
