"""Builds the app ``postino serve`` runs: the HTTP app plus the start-up work of the flags."""

from __future__ import annotations

import logging

from fastapi import FastAPI

from . import app as app_module
from .core.accounts.demo import ensure_demo_account
from .core.service import Core
from .settings import Settings
from .wiring import new_core

log = logging.getLogger("postino")


def build_app(settings: Settings) -> FastAPI:
    core = new_core(settings)
    application = app_module.create_app(settings, core)
    if settings.demo:

        async def _demo(core: Core) -> None:
            demo = await ensure_demo_account(core)
            url = settings.resolved_public_url()
            print(
                "Postino demo account\n"
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

        application.state.startup_hooks.append(_demo)
    return application
