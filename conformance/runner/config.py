"""A run's configuration, checked before anything is sent: the profile and contract the target and options
ask for (a combination that cannot run is a ConfigError), and the secrets every output is redacted of."""

from __future__ import annotations

from conformance.errors import ConfigError
from conformance.options import RunOptions
from conformance.redact import tampered
from conformance.spec import Profile
from conformance.spec.documents import Contract, load_contract
from conformance.target import Target


def contract_for(target: Target, options: RunOptions) -> Contract:
    """The contract of the run's profile (the option's, else the target's), if the run can be made with it."""
    profile = Profile(options.profile or target.profile)
    if profile is Profile.STRICT and not target.project.token:
        raise ConfigError(
            "token: the strict profile authenticates with X-Auth-Token only (the page's one "
            "credential); give a token, or use profile huawei for AK/SK"
        )
    contract = load_contract(profile)
    if options.restore and not contract.has_start_operation:
        raise ConfigError(
            f"--restore: the {profile} profile has no start operation to resume a group; use "
            "profile huawei (the platform's), or resume the groups this run lists as paused by hand"
        )
    if options.restore and not target.restore:
        raise ConfigError(
            "restore: --restore needs the start operation's keys under `restore:` in the target file "
            "(dst_ak, dst_sk, and src_ak, src_sk unless the source is a URL list)"
        )
    return contract


def secrets_of(target: Target) -> list[tuple[str, str]]:
    """Every secret of the run and the placeholder that replaces it in every output (reports/reproduce.py
    reads the placeholders back into the environment variables a curl line uses)."""
    pairs = []
    for project, suffix in ((target.project, ""), (target.other_project, "_OTHER")):
        if project is None:
            continue
        if project.token:
            pairs.append((project.token, f"$OMS_TOKEN{suffix}"))
            pairs.append((tampered(project.token), f"$OMS_TOKEN{suffix}_TAMPERED"))
        if project.readonly_token:
            pairs.append((project.readonly_token, f"$OMS_READONLY_TOKEN{suffix}"))
        if project.aksk:
            pairs.append((project.aksk.sk, f"$OMS_SK{suffix}"))
            if project.aksk.security_token:
                pairs.append((project.aksk.security_token, f"$OMS_SECURITY_TOKEN{suffix}"))
    for key, value in target.restore_secrets().items():  # the migration's keys, for `run --restore`
        pairs.append((value, f"$OMS_RESTORE_{key.upper()}"))
    return pairs
