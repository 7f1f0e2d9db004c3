"""The proxy's public API is exactly what its __all__ lists (nothing becomes public by accident)."""

from __future__ import annotations

import conformance.proxy as proxy


def test_public_api() -> None:
    assert proxy.__all__ == sorted(proxy.__all__)
    assert proxy.__all__ == ["ProxyServer", "ValidatingProxy", "Violation", "proxy_run_result", "serve_proxy"]
    public = {name for name in vars(proxy) if name.isidentifier() and not name.startswith("_")}
    submodules = {"app", "body", "evidence", "forward", "http_layer", "report", "rules", "serving"}
    assert public - set(proxy.__all__) <= submodules
