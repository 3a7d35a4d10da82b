"""`app.py` refuses to serve off loopback without a login, before loading any model."""

import os
import subprocess
import sys

import pytest

from tests.conftest import ROOT

pytestmark = pytest.mark.e2e


def test_app_refuses_a_public_address_without_login() -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("KB_WEB__")}
    result = subprocess.run(
        [sys.executable, "app.py", "--host", "0.0.0.0", "--port", "7999"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 1
    assert "KB_WEB__USERNAME" in result.stderr and "KB_WEB__PASSWORD" in result.stderr
