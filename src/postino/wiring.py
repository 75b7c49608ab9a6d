"""What runs in a Postino process, written down in one place.

``create_app`` (``app.py``) reads these lists: the HTTP APIs and dialects it mounts, the
listeners it gives core, the scheduler jobs and the worker loops it starts. Nothing
registers itself as a side effect of being imported: a part missing here does not run,
and a part that fails to import fails the start with its own error.
"""

from __future__ import annotations

from types import ModuleType

from . import device_api, metrics, native_api, web
from .connectors.whatsapp_cloud import receiver as whatsapp_webhooks
from .core.accounts import refunds, sandbox
from .core.contacts import campaigns, optouts
from .core.devices import presence
from .core.events import webhooks
from .core.messages import carriers, queue, reports
from .core.routing import fallback
from .core.service import Core
from .dialects import messaggisms, nusasms, sg24, smsgate
from .dialects.messaggisms import callbacks as messaggisms_callbacks
from .dialects.smsgate import callbacks as smsgate_callbacks
from .dispatch import connectors, outbox
from .dispatch import campaigns as campaigns_worker
from .dispatch.scheduler import Job
from .dispatch.workers import Worker
from .settings import Settings

APIS: tuple[ModuleType, ...] = (device_api, native_api, whatsapp_webhooks, web)
"""Postino's own HTTP APIs, the webhooks connectors receive, and the dashboard (last: its pages
must not shadow an API); each module has a ``router``, a ``PathRouter`` (``http_paths``)."""

DIALECTS: tuple[ModuleType, ...] = (sg24, messaggisms, nusasms, smsgate)
"""The provider APIs; each module has a ``router`` (a ``PathRouter`` naming the path prefixes it
serves) and ``install(app)``. A new dialect is one line here."""


def install_listeners(core: Core) -> Core:
    """Give ``core`` every listener of its events (idempotent: the lists are replaced)."""
    core.listeners.transition[:] = [
        webhooks.announce_moves,  # account webhooks: message.* events
        reports.push_reports,  # push reports a message asked for (NusaSMS)
        refunds.refund_failed,  # charges returned when a message fails (NusaSMS WhatsApp)
        fallback.hear_moves,  # a WhatsApp message that failed or was delivered settles its SMS fallback
        messaggisms_callbacks.announce,  # MessaggiSMS options.callback_url
        smsgate_callbacks.announce,  # SMS Gate sms:* webhooks, in the phone app's envelope
        metrics.count_moves,
    ]
    core.listeners.received[:] = [
        webhooks.announce_received,
        smsgate_callbacks.announce_received,
        optouts.hear_inbound,  # stop / start keywords change the account's opt-out list
    ]
    core.listeners.offline[:] = [webhooks.announce_offline]
    core.listeners.stored[:] = [metrics.count_stored]
    return core


def new_core(settings: Settings) -> Core:
    """A core as every entry point (server, CLI) uses it: with its listeners."""
    return install_listeners(Core(settings))


def jobs(settings: Settings) -> list[tuple[str, Job]]:
    """The scheduler's jobs, each run once per tick in its own transaction."""
    found: list[tuple[str, Job]] = [
        ("promote_due", queue.promote_due),
        ("release_expired_leases", queue.release_expired_leases),
        ("expire_overdue", queue.expire_overdue),
        ("notice_offline_devices", presence.notice_offline),
        ("start_due_campaigns", campaigns.start_due_campaigns),
        ("release_campaigns", campaigns.release_campaigns),  # paced campaigns, inside their send window
        ("finish_campaigns", campaigns.finish_campaigns),
        ("outbox_prune", outbox.prune),
        ("match_waiting_receipts", carriers.match_waiting_receipts),
        ("send_fallbacks", fallback.send_due),  # WhatsApp messages not delivered in time go as SMS
    ]
    if settings.sandbox or settings.demo:
        found.append(("nusasms_sandbox", sandbox.simulate))
    return found


def workers(settings: Settings) -> list[tuple[str, Worker]]:
    """Long-running loops of a worker process (besides the scheduler)."""
    return [("outbox", outbox.run), ("campaigns", campaigns_worker.run), ("connectors", connectors.run)]
