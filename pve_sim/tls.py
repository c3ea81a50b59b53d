"""A throw-away CA and a server certificate for ``127.0.0.1`` / ``localhost`` / ``::1``.

Clients verify the simulator with the CA (``ca.pem``: ``verify=<ca path>``,
``REQUESTS_CA_BUNDLE``, ``PROXMOX_CA_PATH``) instead of switching verification off.
An existing CA in the state directory is reused, so a client that cached the CA path keeps
working across restarts; the server certificate is issued fresh on every start.
"""

import datetime
import ipaddress
import os

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

CA_CERT = "ca.pem"
CA_KEY = "ca-key.pem"
SERVER_CERT = "server.pem"
SERVER_KEY = "server-key.pem"


def _now():
    return datetime.datetime.now(datetime.UTC)


def _write(path, data, private=False):
    tmp = path + ".tmp"
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600 if private else 0o644)
    with os.fdopen(fd, "wb") as fh:
        fh.write(data)
    os.replace(tmp, path)


def _key_pem(key):
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )


def _load_ca(state_dir):
    cert_path, key_path = os.path.join(state_dir, CA_CERT), os.path.join(state_dir, CA_KEY)
    if not (os.path.exists(cert_path) and os.path.exists(key_path)):
        return None
    try:
        with open(cert_path, "rb") as fh:
            cert = x509.load_pem_x509_certificate(fh.read())
        with open(key_path, "rb") as fh:
            key = serialization.load_pem_private_key(fh.read(), password=None)
    except (ValueError, OSError):
        return None
    if cert.not_valid_after_utc < _now() + datetime.timedelta(days=1):
        return None
    return cert, key


def _make_ca(state_dir):
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name(
        [
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "pve_sim"),
            x509.NameAttribute(NameOID.COMMON_NAME, "pve_sim test CA"),
        ]
    )
    ski = x509.SubjectKeyIdentifier.from_public_key(key.public_key())
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(_now() - datetime.timedelta(minutes=5))
        .not_valid_after(_now() + datetime.timedelta(days=3650))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(ski, critical=False)
        .sign(key, hashes.SHA256())
    )
    _write(os.path.join(state_dir, CA_KEY), _key_pem(key), private=True)
    _write(os.path.join(state_dir, CA_CERT), cert.public_bytes(serialization.Encoding.PEM))
    return cert, key


def ensure_certificates(state_dir, hostnames=("localhost",), ips=("127.0.0.1", "::1")):
    """Create (or reuse) the CA and issue a server certificate; returns a dict of file paths."""
    os.makedirs(state_dir, exist_ok=True)
    ca = _load_ca(state_dir) or _make_ca(state_dir)
    ca_cert, ca_key = ca
    key = ec.generate_private_key(ec.SECP256R1())
    san = [x509.DNSName(h) for h in hostnames] + [x509.IPAddress(ipaddress.ip_address(i)) for i in ips]
    cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")]))
        .issuer_name(ca_cert.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(_now() - datetime.timedelta(minutes=5))
        .not_valid_after(_now() + datetime.timedelta(days=365))
        .add_extension(x509.SubjectAlternativeName(san), critical=False)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=True,
                key_cert_sign=False,
                crl_sign=False,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    paths = {
        "ca": os.path.join(state_dir, CA_CERT),
        "cert": os.path.join(state_dir, SERVER_CERT),
        "key": os.path.join(state_dir, SERVER_KEY),
    }
    _write(paths["key"], _key_pem(key), private=True)
    _write(paths["cert"], cert.public_bytes(serialization.Encoding.PEM))
    return paths


class locked:
    """``with locked(state_dir):`` serialise certificate creation between processes."""

    def __init__(self, state_dir):
        self.path = os.path.join(state_dir, ".tls.lock")
        os.makedirs(state_dir, exist_ok=True)

    def __enter__(self):
        import fcntl

        self.fh = open(self.path, "a")
        fcntl.flock(self.fh, fcntl.LOCK_EX)
        return self

    def __exit__(self, *exc):
        import fcntl

        fcntl.flock(self.fh, fcntl.LOCK_UN)
        self.fh.close()
        return False
