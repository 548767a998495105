"""The sandbox's own certificate authority and server certificate, kept in the data directory.

The CA is made once per data directory so that a caFile handed to clients stays valid across
restarts; the server certificate is reused while it covers the names the server answers on,
which keeps start-up fast (no key generation on a warm start).
"""

from __future__ import annotations

import ipaddress
import ssl
from dataclasses import dataclass
from pathlib import Path

import trustme
from cryptography import x509

CA_FILE = "ca.pem"
CA_KEY_FILE = "ca-key.pem"
SERVER_FILE = "server.pem"


@dataclass(frozen=True)
class Certificates:
    ca_file: Path
    server_file: Path  # private key followed by the certificate chain

    def server_context(self) -> ssl.SSLContext:
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(str(self.server_file))
        return context


def ensure_certificates(data_dir: Path, names: list[str]) -> Certificates:
    """Load the CA and a server certificate for `names` from `data_dir`, creating what is missing."""
    data_dir.mkdir(parents=True, exist_ok=True)
    ca_path, key_path, server_path = data_dir / CA_FILE, data_dir / CA_KEY_FILE, data_dir / SERVER_FILE
    if ca_path.exists() and key_path.exists():
        ca = trustme.CA.from_pem(ca_path.read_bytes(), key_path.read_bytes())
    else:
        ca = trustme.CA(organization_name="Learning Calendar Sync sandbox")
        _write_private(key_path, ca.private_key_pem.bytes())
        ca.cert_pem.write_to_path(str(ca_path))
        server_path.unlink(missing_ok=True)
    if not (server_path.exists() and _covers(server_path, names, ca_path)):
        leaf = ca.issue_cert(*names)
        _write_private(server_path, leaf.private_key_and_cert_chain_pem.bytes())
    return Certificates(ca_file=ca_path, server_file=server_path)


def _write_private(path: Path, data: bytes) -> None:
    path.touch(mode=0o600, exist_ok=True)
    path.write_bytes(data)


def _covers(server_path: Path, names: list[str], ca_path: Path) -> bool:
    """True when the stored server certificate names every host and was issued by the current CA."""
    try:
        cert = x509.load_pem_x509_certificate(server_path.read_bytes())
        ca = x509.load_pem_x509_certificate(ca_path.read_bytes())
        san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    except (ValueError, x509.ExtensionNotFound):
        return False
    if cert.issuer != ca.subject:
        return False
    dns = {name.lower() for name in san.get_values_for_type(x509.DNSName)}
    ips = set(san.get_values_for_type(x509.IPAddress))
    for name in names:
        try:
            if ipaddress.ip_address(name) not in ips:
                return False
        except ValueError:
            if name.lower() not in dns:
                return False
    return True


def issue_certificate(data_dir: Path, names: list[str], target: Path) -> Path:
    """Write a key and certificate for `names`, signed by the sandbox's CA, to `target` (PEM).

    For a local HTTPS server that receives the sandbox's change notifications (a test's
    receiver, a local function host): the sandbox trusts its own CA, so no extra CA is needed.
    """
    ca = trustme.CA.from_pem((data_dir / CA_FILE).read_bytes(), (data_dir / CA_KEY_FILE).read_bytes())
    _write_private(target, ca.issue_cert(*names).private_key_and_cert_chain_pem.bytes())
    return target
