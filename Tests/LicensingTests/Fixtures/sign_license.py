#!/usr/bin/env python3
"""Signs the fixture license with Python's `cryptography` package, so that a test shows a
license signed outside our code verifies. Regenerate (the output is deterministic: a fixed seed,
fixed claims, and Ed25519 signatures are deterministic) with:

    python3 -m pip install --user cryptography   # or: apt-get install python3-cryptography
    python3 Tests/LicensingTests/Fixtures/sign_license.py
"""
import base64
import json
import pathlib

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

HERE = pathlib.Path(__file__).parent
KID = "python-2025"
# A fixed seed, so the fixture regenerates byte for byte. Not a secret: it signs test data only.
SEED = bytes(range(32))


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def main() -> None:
    key = Ed25519PrivateKey.from_private_bytes(SEED)
    header = {"alg": "EdDSA", "typ": "JWT", "kid": KID}
    claims = {
        "jti": "0b5a9c1e-3f4d-4e2a-9b8c-7d6e5f4a3b2c",
        "sub": "python@example.com",
        "iat": 1735689600,              # 2025-01-01T00:00:00Z
        "nbf": 1735689600,
        "license_expires": 1893456000,  # 2030-01-01T00:00:00Z
        "exp": 1896048000,              # 30 days of grace later
        "account_type": "salesforce",
        "account_id": "acme-001",
        "trial": False,
        "all_features": True,
        "feature_set": "enterprise",
        "version": 3,
        "features": {"user_limit": 100, "audit_log": 1},
        "require_telemetry": False,
        "unknown_future_claim": {"nested": [1, 2.5, "x"]},
    }
    signing_input = b64url(json.dumps(header, separators=(",", ":")).encode()) + "." + \
        b64url(json.dumps(claims, separators=(",", ":")).encode())
    signature = key.sign(signing_input.encode())
    (HERE / "python_license.jwt").write_text(signing_input + "." + b64url(signature) + "\n")

    public = key.public_key()
    raw = public.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    (HERE / "python_public_key.txt").write_text(f"{KID}={base64.b64encode(raw).decode()}\n")
    pem = public.public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    (HERE / "python_public_key.pem").write_bytes(pem)


if __name__ == "__main__":
    main()
