"""One source of a run's defaults: RunOptions. The CLI's options and the pytest plugin's take theirs from it,
and a check's context has none of its own (the runner passes every value)."""

from __future__ import annotations

import inspect
from typing import Any

import click

from conformance.checks.machinery.context import CheckContext
from conformance.cli.run_cmd import run
from conformance.options import DEFAULTS, DEPTHS
from conformance.pytest_plugin import pytest_addoption


def test_the_cli_defaults_are_the_run_options_defaults() -> None:
    assert isinstance(run, click.Command)
    defaults = {p.name: p.default for p in run.params}
    for name in ("depth", "request_timeout", "reruns", "race_width", "concurrency"):
        assert defaults[name] == getattr(DEFAULTS, name), name
    (depth,) = [p for p in run.params if p.name == "depth"]
    assert isinstance(depth.type, click.Choice) and tuple(depth.type.choices) == DEPTHS


def test_the_plugin_defaults_are_the_run_options_defaults() -> None:
    added: dict[str, dict[str, Any]] = {}

    class Group:
        def addoption(self, name: str, **kwargs: Any) -> None:
            added[name] = kwargs

    class Parser:
        def getgroup(self, name: str) -> Group:
            return Group()

    pytest_addoption(Parser())  # type: ignore[arg-type]
    assert added["--oms-depth"]["default"] == DEFAULTS.depth
    assert tuple(added["--oms-depth"]["choices"]) == DEPTHS


def test_the_check_context_has_no_defaults_of_its_own_for_run_options() -> None:
    parameters = inspect.signature(CheckContext.__init__).parameters
    for name in ("seed", "depth", "settle_timeout", "max_examples", "race_width", "concurrency"):
        assert parameters[name].default is inspect.Parameter.empty, name
