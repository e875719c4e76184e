"""Start weworktop: `python app.py [--config PATH]`, or `python app.py --sandbox`.

The configuration is PATH, else $WEWORKTOP_CONFIG, else ./config.json. Without any of them
the service starts in the sandbox: beside a built-in WeCom emulator with a chat page, so it
can be tried at once. `--sandbox --config PATH` tries it with PATH's model sections.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from infrastructure.app_factory import CONFIG_ENV, create_app
from infrastructure.config import ConfigError
from infrastructure.secret_env import ENTRY_SECRETS, SECRET_ENV
from infrastructure.serving import serve

EXAMPLE_CONFIG = Path(__file__).with_name("config.example.json")


def choose_config(explicit: str | None) -> Path | None:
    """The configuration to start on; None: there is none, so the sandbox starts."""
    if explicit:
        return Path(explicit)
    if os.environ.get(CONFIG_ENV):
        return Path(os.environ[CONFIG_ENV])
    default = Path("config.json")
    if default.exists():
        return default
    print(
        "weworktop: no config.json here; starting the sandbox, a built-in WeCom to try it with "
        f"(copy {EXAMPLE_CONFIG.name} to config.json and fill in your app's keys to go live)",
        file=sys.stderr,
    )
    return None


def start_sandbox(models_config: Path | None) -> int:
    # Imported only here, so the production path never loads the emulator.
    from sandbox.runner import models_from, run_sandbox

    # The sandbox generates its WeCom and admin keys; the real app's, if the environment
    # holds them, must not replace those (a model's API key in the environment still counts).
    for keys, names in SECRET_ENV.items():
        if keys[0] in ("services", "admin"):
            for name in names:
                os.environ.pop(name, None)
    prefixes = tuple(prefix for prefix, _keys in ENTRY_SECRETS.values())
    for name in [name for name in os.environ if name.startswith(prefixes)]:
        os.environ.pop(name)
    try:
        return run_sandbox(create_app, models_from(models_config))
    except ConfigError as err:
        return refused(err.lines)
    except (OSError, ValueError) as err:
        print(f"weworktop: the sandbox could not start: {err}", file=sys.stderr)
    return 2


def refused(problems: list[str]) -> int:
    for problem in problems:
        print(f"weworktop: config error: {problem}", file=sys.stderr)
    return 2


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="WeCom self-built app × LLM assistant")
    parser.add_argument("--config", help="path to config.json (default: ./config.json)")
    parser.add_argument(
        "--sandbox",
        action="store_true",
        help="try the service with a built-in WeCom emulator (models from --config, if given)",
    )
    args = parser.parse_args(argv)
    if args.sandbox:
        return start_sandbox(Path(args.config) if args.config else None)
    path = choose_config(args.config)
    if path is None:
        return start_sandbox(None)
    try:
        app = create_app(path)
    except ConfigError as err:
        return refused(err.lines)
    except ValueError as err:
        return refused([str(err)])
    return serve(app, path)


if __name__ == "__main__":
    sys.exit(main())
