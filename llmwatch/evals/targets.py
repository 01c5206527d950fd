"""Named targets from the settings, turned into client endpoints.

The API key comes from the target's environment variable here; a Prefect Secret block
is resolved by the task layer (the core does not import Prefect) and passed in.
"""

from __future__ import annotations

import os
from typing import Any

from pydantic import SecretStr

from llmwatch.llm import Endpoint
from llmwatch.settings import Settings


class TargetError(ValueError):
    """An unknown target or a key that cannot be found."""


def resolve_target(
    settings: Settings,
    name: str,
    *,
    secret: SecretStr | None = None,
    defaults: dict[str, Any] | None = None,
) -> Endpoint:
    """The endpoint of target ``name``; ``defaults`` are params the target may override."""
    target = settings.targets.get(name)
    if target is None:
        known = ", ".join(sorted(settings.targets)) or "none configured"
        raise TargetError(f"unknown target {name!r} (known: {known}); add it under [targets]")
    api_key = secret
    if api_key is None and target.api_key_env:
        value = os.environ.get(target.api_key_env)
        if not value:
            raise TargetError(
                f"target {name!r}: environment variable {target.api_key_env} is not set"
            )
        api_key = SecretStr(value)
    if api_key is None and target.api_key_secret_block:
        raise TargetError(
            f"target {name!r} takes its key from Prefect Secret block "
            f"{target.api_key_secret_block!r}, which was not resolved"
        )
    params = {**(defaults or {}), **target.params}
    return Endpoint(target.base_url, target.model, api_key, params, protocol=target.protocol)
