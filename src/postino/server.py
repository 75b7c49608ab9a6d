"""Builds the app ``postino serve`` runs: the HTTP app plus the start-up work of the flags."""

from __future__ import annotations

import logging

from fastapi import FastAPI

from . import app as app_module
from .connectors.kinds import KINDS
from .core.accounts.demo import ensure_demo_account
from .core.errors import NotFound
from .core.routing import connectors, routes
from .core.service import Core
from .settings import Settings
from .smsc import child as smsc_child
from .wiring import new_core

log = logging.getLogger("postino")


DEMO_CONNECTOR = "demo-smsc"


async def _demo_carrier(core: Core, account_id: int, port: int) -> None:
    """The demo account's SMPP connector to the demo SMSC, and a route of its OTP messages to it.

    The SMSC listens on loopback, which the demo allows (only that address); every other
    private address stays refused as the settings say.
    """
    if "127.0.0.1/32" not in (core.settings.allowed_private_networks or []):
        core.settings.allowed_private_networks = [*(core.settings.allowed_private_networks or []), "127.0.0.1/32"]
    config, secrets = KINDS["smpp"].parse({
        "host": "127.0.0.1", "port": port, "system_id": smsc_child.SYSTEM_ID, "password": smsc_child.PASSWORD,
        "default_sender": "Postino",
    })  # fmt: skip
    async with core.unit() as unit:
        try:
            record = await connectors.by_name(unit, account_id, DEMO_CONNECTOR)
        except NotFound:
            record = await connectors.add(unit, account_id, name=DEMO_CONNECTOR, kind="smpp", config=config,
                                          secrets=secrets)  # fmt: skip
        else:
            record = await connectors.change(unit, account_id, record.id, config=config, secrets=secrets)
        named = [r for r in await routes.list_for(unit, account_id) if any(t.connector_id == record.id for t in r.targets)]
        if not named:
            await routes.add(unit, account_id, channel="sms", targets=[(record.id, 1)], otp=True, position=1)


def build_app(settings: Settings) -> FastAPI:
    core = new_core(settings)
    application = app_module.create_app(settings, core)
    if settings.demo:

        async def _demo(core: Core) -> None:
            demo = await ensure_demo_account(core)
            url = settings.resolved_public_url()
            print(
                "Postino demo account\n"
                f"  dashboard:                 {url}/ (log in with the email and password below)\n"
                f"  email / password:          {demo.email} / {demo.password}\n"
                f"  SmsGateway24 token:        {demo.secrets['sg24']}\n"
                f"  MessaggiSMS bearer token:  {demo.secrets['bearer']}\n"
                f"  NusaSMS API key:           {demo.secrets['api_key']}\n"
                f"  device registration token: {demo.secrets['device_registration']}\n"
                f"  API docs:                  {url}/docs\n",
                flush=True,
            )
            from .simulator.child import start_demo_phone

            start_demo_phone(settings, demo.secrets["device_registration"])
            port = smsc_child.free_port()
            smsc_child.start_demo_smsc(settings, port)
            await _demo_carrier(core, demo.account_id, port)
            print(f"  SMSC simulator:            127.0.0.1:{port} (OTP messages go through it; "
                  f"log {settings.data_dir / 'demo-smsc.jsonl'})\n", flush=True)

        application.state.startup_hooks.append(_demo)
    return application
