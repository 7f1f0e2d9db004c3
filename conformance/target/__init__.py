"""The target: which implementation to test, with which credentials, and which task groups it may pause.

One loader serves ``run --target FILE``, the pytest plugin and the reference server's ``--write-target``
(which writes the same format with :func:`dump_target`). A target file is YAML; ``${VAR}`` expands from the
environment so that secrets need not sit in the file; ``token_command`` fetches a token by a command
(:mod:`conformance.token_command`). The file is checked against ``schemas/target.schema.json``, then by the
rules a schema cannot express (an id in two statuses, a token reused where it must differ); every problem is
a ConfigError naming the key, what was expected and what was found, before any request is sent.

Safety rule for real accounts: the only task groups a run may pause are the ones listed under ``groups``
(and ``other_project.groups``, which are only ever sent the *other* project's own credential).

Two parts, re-exported here: the model a run reads (``model.py``: Target, Project, their credentials) and the
file that makes and writes one (``file.py``: parse_target, load_target, dump_target, target_data).
"""

from __future__ import annotations

from conformance.target.file import dump_target, load_target, parse_target, target_data
from conformance.target.model import RESTORE_PLAIN_KEYS, AkSk, ClientCertificate, Project, Target

__all__ = [
    "RESTORE_PLAIN_KEYS",
    "AkSk",
    "ClientCertificate",
    "Project",
    "Target",
    "dump_target",
    "load_target",
    "parse_target",
    "target_data",
]
