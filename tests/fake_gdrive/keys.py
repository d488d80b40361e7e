"""Throwaway key material for the fake: a service-account key pair and a TLS test CA.

Generated once per process (RSA and CA generation dominate a fake's start-up time) and never
valid anywhere but against the fake.
"""

from __future__ import annotations

import functools
import json
import secrets
import ssl
from pathlib import Path

import trustme
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

CLIENT_EMAIL = "ml-pipeline-upload@fake-project.iam.gserviceaccount.com"


@functools.cache
def _service_key() -> tuple[str, rsa.RSAPrivateKey]:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return secrets.token_hex(20), key


def service_public_key() -> tuple[str, rsa.RSAPublicKey]:
    """The key id and the public half the token endpoint checks JWT signatures against."""
    key_id, key = _service_key()
    return key_id, key.public_key()


def service_private_pem() -> str:
    _, key = _service_key()
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()


def service_account_info(token_uri: str) -> dict:
    """A key file shaped like the JSON key Google Cloud Console downloads."""
    key_id, _ = _service_key()
    return {
        "type": "service_account",
        "project_id": "fake-project",
        "private_key_id": key_id,
        "private_key": service_private_pem(),
        "client_email": CLIENT_EMAIL,
        "client_id": "100000000000000000001",
        "auth_uri": "https://accounts.google.com/o/oauth2/auth",
        "token_uri": token_uri,
        "auth_provider_x509_cert_url": "https://www.googleapis.com/oauth2/v1/certs",
        "client_x509_cert_url": "https://www.googleapis.com/robot/v1/metadata/x509/fake",
        "universe_domain": "googleapis.com",
    }


def write_key_file(path: Path, token_uri: str) -> Path:
    # 0644: a throwaway test key that a non-root upload container must be able to read.
    path.write_text(json.dumps(service_account_info(token_uri), indent=2) + "\n")
    path.chmod(0o644)
    return path


@functools.cache
def _tls(hostnames: tuple[str, ...]) -> tuple[trustme.CA, trustme.LeafCert]:
    ca = trustme.CA(organization_name="ml-pipeline fake Google (tests only)")
    return ca, ca.issue_cert(*hostnames)


def server_tls(hostnames: tuple[str, ...], ca_file: Path) -> ssl.SSLContext:
    """Writes the test CA's certificate to ca_file and returns the server's TLS context."""
    ca, leaf = _tls(hostnames)
    ca.cert_pem.write_to_path(str(ca_file))
    ca_file.chmod(0o644)
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    leaf.configure_cert(context)
    return context
