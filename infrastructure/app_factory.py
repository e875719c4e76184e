"""Building the ASGI app from a configuration file. `create_app` is also uvicorn's factory:
`uvicorn infrastructure.app_factory:create_app --factory`."""

from __future__ import annotations

import asyncio
import logging
import os
from contextlib import asynccontextmanager
from pathlib import Path

from sqlalchemy.engine import make_url
from starlette.applications import Starlette

from adapters.inbound import health
from adapters.outbound.persistence.sqlalchemy_migrations import migrate
from adapters.outbound.persistence.store_errors import outage_described
from infrastructure.clock_source import clock_offset, offset_warning, service_clock
from infrastructure.config import AppConfig, load_config
from infrastructure.config_permissions import readable_database_warnings
from infrastructure.container import Container
from infrastructure.logging_setup import configure_logging
from infrastructure.secrets import reveal
from infrastructure.startup_notes import startup_notes

log = logging.getLogger("weworktop")

CONFIG_ENV = "WEWORKTOP_CONFIG"


def config_path_from_env() -> Path:
    return Path(os.environ.get(CONFIG_ENV, "config.json"))


def create_app(config_path: Path | None = None) -> Starlette:
    config, warnings = load_config(config_path or config_path_from_env())
    configure_logging(
        secrets_of(config),
        config.logging.level,
        json_lines=config.logging.format == "json",
        is_outage=outage_described,
    )
    for warning in warnings + database_warnings(config.storage.url):
        log.warning(warning)
    offset = clock_offset(os.environ)
    if offset:
        log.warning(offset_warning(offset))
    return build_app(Container(config=config, clock=service_clock(offset)))


def database_warnings(storage_url: str) -> list[str]:
    url = make_url(storage_url)
    if url.get_backend_name() != "sqlite" or url.database in (None, "", ":memory:"):
        return []
    return readable_database_warnings(Path(url.database))


def secrets_of(config: AppConfig) -> list[str]:
    values = [
        config.llm.api_key, config.image.api_key, config.speech.api_key,
        config.admin.bearer_token, config.admin.read_only_token,
    ]
    for channel in config.channels:
        values += channel.secrets()
    return [secret for secret in map(reveal, values) if secret]


def build_app(container: Container) -> Starlette:
    config: AppConfig = container.config()

    @asynccontextmanager
    async def lifespan(_app: Starlette):
        engine = container.engine()
        await migrate(engine)
        for note in startup_notes(config, container.audio_converter().startup_warning):
            log.warning(note)
        spool = container.message_spool()
        spool.open()
        scheduler = container.scheduler()
        resumed = await scheduler.resume_pending()
        scheduler.start()
        # Replays what the spool holds (left by a previous run, or taken in an outage).
        replay = asyncio.create_task(container.spooled_intake().run())
        retention = None
        if config.storage.retention_days:
            retention = asyncio.create_task(container.retention().run_daily())
        holders = container.link_holders()
        for holder in holders:
            holder.start()
        log.info(
            "weworktop ready: %d channel(s), store %s, model %s%s",
            len(config.channels),
            make_url(config.storage.url).render_as_string(hide_password=True),
            config.llm.provider,
            f", resuming {resumed} conversations with unanswered messages" if resumed else "",
        )
        if spool.count:
            log.info("%d messages wait in the spool from an earlier run: replaying", spool.count)
        try:
            yield
        finally:
            if retention is not None:
                retention.cancel()
            replay.cancel()
            # Answers in flight finish over the links first; then the links let go of the
            # bots, so a standby instance takes them over at once.
            await scheduler.close()
            for holder in holders:
                await holder.close()
            await container.wecom_http().aclose()
            await container.llm_http().aclose()
            await container.image_http().aclose()
            await container.event_store().aclose()
            await engine.dispose()
            spool.close()

    telemetry = container.telemetry()
    probe_guard = [container.admin().guard()] if config.admin.guards_probes else []
    routes = health.routes(
        container.readiness(), telemetry.render, telemetry.content_type, probe_guard
    )
    channels = container.channel_containers()
    for settings in config.channels:
        routes += channels[settings.id].routes()
        log.info("serving %s", settings.describe())
    if config.admin.enabled:
        routes.append(container.admin().mount())
        log.info("admin surface enabled under /admin (bearer token required)")
    app = Starlette(routes=routes, lifespan=lifespan)
    app.state.config = config
    return app
