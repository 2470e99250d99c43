"""`tailor evaluate --variants CONFIG`: each variant of CONFIG's experiment as a server config of its own."""

from __future__ import annotations

from dataclasses import replace

from server.experiments.arms import Experiment
from server.runtime.config import ServerConfig

__all__ = ["served_configs"]


def served_configs(config: ServerConfig) -> list[tuple[str, ServerConfig]]:
    """("Tailor:<variant>", a config whose experiment is that variant alone, share 1) per variant, in
    order: every call of the evaluation goes through the variant's policy — and, for the popular control,
    its anonymous query — exactly as it would in production. Raises ValueError without an experiment."""
    if config.experiment is None:
        raise ValueError("--variants: the config file has no [experiments] table")
    experiment = config.experiment
    return [(f"Tailor:{v.name}", replace(config, ranking=v.policy,
                                         experiment=Experiment(experiment.name, (replace(v, share=1.0),))))
            for v in experiment.variants]
