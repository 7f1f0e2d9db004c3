"""The body of a start (huawei profile): the official SDK's ``StartTaskGroupReq`` as JSON.

Why a module of its own: the body holds the migration's own keys, so its checking is kept where one can
see at a glance that no value of it ever reaches a message, a log line or an answer - every problem is
described by member name and rule only.

The SDK (``huaweicloudsdkoms.v2.StartTaskGroupReq``) sends ``dst_ak`` and ``dst_sk`` always (its only
required members) and the others when set, with ``Content-Type: application/json;charset=UTF-8``. Limits
from its documentation: AKs and SKs at most 100 characters, KMS key ids 36. Members this server does not
know are ignored, as the platform's JSON binding would; the content type is not checked (the body is).
"""

from __future__ import annotations

import json

REQUIRED = ("dst_ak", "dst_sk")
_MAX_CHARS = {
    "src_ak": 100,
    "src_sk": 100,
    "dst_ak": 100,
    "dst_sk": 100,
    "src_kms_key_id": 36,
    "dst_kms_key_id": 36,
}
_STRINGS = (
    *_MAX_CHARS,
    "src_crypto_type",
    "dst_crypto_type",
    "connection_string",
    "json_auth_file",
    "source_cdn_authentication_key",
    "source_cdn_crypto_type",
    "source_cdn_kms_key_id",
)
_ENUMS = {"src_crypto_type": ("DEFAULT", "KMS"), "dst_crypto_type": ("DEFAULT", "KMS")}


def start_body_problem(body: bytes) -> str | None:
    """What is wrong with a start body, without quoting any of it; None if it is acceptable."""
    try:
        document = json.loads(body)
    except (UnicodeDecodeError, ValueError):
        return "the body must be a JSON object (StartTaskGroupReq)"
    if not isinstance(document, dict):
        return "the body must be a JSON object (StartTaskGroupReq)"
    for name in REQUIRED:
        value = document.get(name)
        if not isinstance(value, str) or not value:
            return f"{name} is required: a non-empty string"
    for name in _STRINGS:
        value = document.get(name)
        if value is None:
            continue
        if not isinstance(value, str):
            return f"{name} must be a string"
        limit = _MAX_CHARS.get(name)
        if limit is not None and len(value) > limit:
            return f"{name} must be at most {limit} characters"
        allowed = _ENUMS.get(name)
        if allowed is not None and value not in allowed:
            return f"{name} must be one of {', '.join(allowed)}"
    return None
