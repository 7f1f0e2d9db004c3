"""Reading files the toolkit is handed (target, fixtures, baseline, a saved run) or ships (the contract).

One place turns every way a read can fail - missing, unreadable, not UTF-8, not YAML - into one line that
names the file, raised as the error kind the caller's layer uses (ConfigError, or SpecError for the contract).
"""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

from conformance.errors import ENCODING_HINT, FILE_HINT, SYNTAX_HINT, ConfigError, ConformanceError

if TYPE_CHECKING:
    import yaml


@cache
def _loader(libyaml: bool = False) -> type[yaml.SafeLoader] | type[yaml.CSafeLoader]:
    """YAML without implicit dates: ``expires: 2026-12-31`` stays the text written, so the file's schema
    judges it (and ``2026-13-01`` is an error naming the key, not a crash inside the YAML parser). Made when
    first needed: the contract's modules import this one, and the pytest plugin imports them in every
    session, which reads no YAML unless it runs the suite.

    ``libyaml``: PyYAML's C parser where it was built with it - the same constructor and resolvers, a tenth
    of the pure-Python parser's CPU (the shipped contract's four files: 5 ms instead of 42 ms, which every
    run paid before its first request). Only for the files the toolkit ships: a user's file is read by the
    pure-Python parser, whose error marks the messages quote."""
    import yaml

    class Loader(yaml.SafeLoader):
        pass

    class CLoader(yaml.CSafeLoader):
        pass

    chosen: type[Loader] | type[CLoader] = CLoader if libyaml and yaml.__with_libyaml__ else Loader
    chosen.yaml_implicit_resolvers = {
        first: [(tag, regexp) for tag, regexp in resolvers if tag != "tag:yaml.org,2002:timestamp"]
        for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
    }
    return chosen


def read_text(path: str | Path, what: str, error: type[ConformanceError] = ConfigError) -> str:
    where = f"{what} {str(path)!r}"
    try:
        return Path(path).read_text(encoding="utf-8")
    except OSError as exc:
        raise error(f"{where}: cannot read it ({exc.strerror or exc})", hint=FILE_HINT) from exc
    except UnicodeDecodeError as exc:
        raise error(f"{where}: not UTF-8 text", hint=ENCODING_HINT) from exc


def read_yaml(
    path: str | Path, what: str, error: type[ConformanceError] = ConfigError, *, shipped: bool = False
) -> Any:
    """``path`` parsed; ``shipped``: a file of the toolkit's own (the contract), read by libyaml if built."""
    import yaml

    text = read_text(path, what, error)
    try:
        return yaml.load(text, Loader=_loader(shipped))  # a SafeLoader, less the date resolver
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        at = f" at line {mark.line + 1}" if mark else ""
        raise error(f"{what} {str(path)!r}: not valid YAML{at}", hint=SYNTAX_HINT) from exc
