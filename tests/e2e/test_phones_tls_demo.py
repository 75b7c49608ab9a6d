"""Serving phones over https (the app accepts only https URLs), and the demo's own phone."""

from __future__ import annotations

import datetime as dt
import ipaddress
import os
import ssl
import subprocess
from pathlib import Path

import httpx
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from postino.core.accounts.accounts import find_by_email
from postino.core.accounts.demo import DEMO_EMAIL
from postino.core.devices import devices
from tests.support import (
    SimulatorProcess,
    free_port,
    postino_command,
    wait_for,
    wait_for_sync,
)


def self_signed(where: Path) -> tuple[Path, Path]:
    """A certificate for 127.0.0.1 and its key, as an operator would make with openssl."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = dt.datetime.now(dt.timezone.utc)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=1))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = where / "cert.pem", where / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    return cert_path, key_path


class Served:
    """``postino serve`` with arbitrary flags; health polled with the given TLS trust."""

    def __init__(self, data_dir: Path, database_url: str, *flags: str, scheme: str = "http", verify=True) -> None:  # noqa: ANN001
        data_dir.mkdir(parents=True, exist_ok=True)
        self.port = free_port()
        self.url = f"{scheme}://127.0.0.1:{self.port}"
        self.verify = verify
        self.log_path = data_dir / "server.log"
        command = postino_command(
            "serve", "--port", str(self.port), "--data-dir", str(data_dir), "--database-url", database_url, *flags
        )
        with open(self.log_path, "ab") as log:
            self.proc = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT,
                                         env={**os.environ, "POSTINO_SCHEDULER_INTERVAL": "0.2"})

    def health(self) -> httpx.Response:
        return httpx.get(self.url + "/health", verify=self.verify, timeout=2)

    def wait_healthy(self) -> None:
        def ok() -> bool:
            if self.proc.poll() is not None:
                raise AssertionError(f"server exited: {self.log_path.read_text()}")
            try:
                return self.health().status_code == 200
            except httpx.ConnectError:
                return False

        wait_for_sync(ok, timeout=30, message="server health")

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                raise


async def test_phones_connect_over_https_with_a_self_signed_certificate(core, alice, database_url, tmp_path) -> None:
    cert, key = self_signed(tmp_path)
    trust = ssl.create_default_context(cafile=str(cert))
    server = Served(tmp_path / "server", database_url, "--tls-cert", str(cert), "--tls-key", str(key),
                    scheme="https", verify=trust)
    try:
        server.wait_healthy()
        assert server.health().json()["status"] == "ok"
        try:
            httpx.get(server.url + "/health", timeout=2)  # without trusting the certificate
            raise AssertionError("an untrusted certificate was accepted")
        except httpx.ConnectError:
            pass
        phone = SimulatorProcess(server.url, alice.device_registration_token, "--ca-cert", str(cert),
                                 workdir=tmp_path / "phone").start()
        phone.stop()
        async with core.reader() as unit:
            (device,) = await devices.list_for(unit, alice.id)
        assert device.ext_id == phone.device_ids[0]
        refused = subprocess.run(
            postino_command("device", "simulate", "--server", server.url, "--token", "wrong-token",
                            "--ca-cert", str(cert), "--state-file", str(tmp_path / "refused.json")),
            capture_output=True, text=True, timeout=60,
        )
        assert refused.returncode == 2 and "registration refused: 401" in refused.stdout
    finally:
        server.stop()


async def test_demo_runs_one_simulated_phone_and_stops_it(core, database_url, tmp_path) -> None:
    data = tmp_path / "server"
    server = Served(data, database_url, "--demo")
    try:
        server.wait_healthy()

        async def demo_phone() -> list:
            async with core.reader() as unit:
                account = await find_by_email(unit, DEMO_EMAIL)
                return await devices.list_for(unit, account.id) if account else []

        (device,) = await wait_for(demo_phone, message="the demo phone to register", timeout=20)
        assert device.name == "demo-phone-0"
        pid = int(server.log_path.read_text().split("simulated phone:")[1].split("pid ")[1].split(",")[0])
    finally:
        server.stop()
    wait_for_sync(lambda: not Path(f"/proc/{pid}").exists() or "zombie" in _status(pid),
                  message="the demo phone to stop", timeout=10)
    assert "stopped" in (data / "demo-phone.log").read_text()


def _status(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/status").read_text().lower()
    except OSError:
        return "zombie"
