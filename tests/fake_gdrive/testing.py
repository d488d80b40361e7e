"""Pointing the real Google client libraries at a fake, for pytest: a plugin that tests/conftest.py
loads, so every test can ask for the `fake` fixture."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.fake_gdrive import FakeGoogle


@pytest.fixture
def fake(tmp_path, monkeypatch):
    """A fake Google (token endpoint and Drive v3) over TLS on loopback, trusted by the client."""
    with FakeGoogle(tmp_path / "fake") as server:
        trust_fake(monkeypatch, server.ca_file)
        yield server


def trust_fake(monkeypatch, ca_file: Path) -> None:
    """Trusts the fake's CA and keeps google-auth from calling real Google on the side.

    google-auth (2.5x+) starts a background "Regional Access Boundary" lookup at
    iamcredentials.googleapis.com after each token refresh; it is harmless in production, but a
    unit test must not reach the internet, so the lookup URL is withheld (the library then
    skips the lookup). raising=True: if google-auth renames the hook, this fails loudly.
    """
    from google.oauth2 import service_account

    monkeypatch.setenv("HTTPLIB2_CA_CERTS", str(ca_file))
    monkeypatch.setattr(
        service_account.Credentials,
        "_build_regional_access_boundary_lookup_url",
        lambda self, request=None: None,
    )
