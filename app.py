"""Start weworktop: `python app.py [--config PATH]`.

The configuration is PATH, else $WEWORKTOP_CONFIG, else ./config.json. Without any of them
the service starts on config.example.json with the offline model, so it can be tried at once.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

import uvicorn

from infrastructure.app_factory import CONFIG_ENV, create_app
from infrastructure.config import ConfigError

EXAMPLE_CONFIG = Path(__file__).with_name("config.example.json")


def choose_config(explicit: str | None) -> Path:
    if explicit:
        return Path(explicit)
    if os.environ.get(CONFIG_ENV):
        return Path(os.environ[CONFIG_ENV])
    default = Path("config.json")
    if default.exists():
        return default
    print(
        f"weworktop: no config.json here; starting on {EXAMPLE_CONFIG.name} with the offline "
        "model (copy it to config.json and fill in your app's keys to go live)",
        file=sys.stderr,
    )
    return EXAMPLE_CONFIG


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="WeCom self-built app × LLM assistant")
    parser.add_argument("--config", help="path to config.json (default: ./config.json)")
    args = parser.parse_args(argv)
    path = choose_config(args.config)
    try:
        app = create_app(path, trial=path == EXAMPLE_CONFIG)
    except (ConfigError, ValueError) as err:
        print(f"weworktop: config error: {err}", file=sys.stderr)
        return 2
    wecom = app.state.config.wecom
    uvicorn.run(
        app,
        host=wecom.host,
        port=wecom.port,
        log_config=None,
        access_log=False,
        timeout_graceful_shutdown=wecom.shutdown_grace_seconds,
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
