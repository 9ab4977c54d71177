"""Shared test helpers.

`require_tool` makes a test that needs a system tool fail in CI (where
`.ci/run` installs every tool) and skip on a user's machine, with a
message saying how to install it.
"""
from __future__ import annotations

import os
import shutil

import pytest

IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")


def require_tool(executable: str, install_hint: str) -> str:
    """Path of `executable`; fails in CI and skips elsewhere when it is missing."""
    path = shutil.which(executable)
    if path is None:
        message = f"{executable} not found; install it with: {install_hint}"
        if IN_CI:
            pytest.fail(message)
        pytest.skip(message)
    return path
