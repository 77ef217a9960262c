"""`callcenter` console command: argv/env -> Config -> the chosen feature's command.

The commands themselves live in each feature's `commands.py`
(`add_commands(subparsers)`, a handler per subcommand through
`set_defaults(func=...)`); this module only builds the parser and dispatches.
"""

from __future__ import annotations

import argparse
import functools
import logging
import os
import sys
from collections.abc import Callable, Sequence
from typing import TypeAlias

from callcenter import config as config_module
from callcenter import serve
from callcenter.accounts import commands as accounts
from callcenter.agents import commands as agents
from callcenter.asr import commands as asr
from callcenter.asterisk import commands as asterisk
from callcenter.callbacks import commands as callbacks
from callcenter.calls import commands as calls
from callcenter.config import Config, ConfigError
from callcenter.kernel.commands import Handler, Subparsers
from callcenter.ops import commands as ops
from callcenter.qa import commands as qa
from callcenter.qa.store import sampled_calls
from callcenter.recordings import commands as recordings

AddCommands: TypeAlias = Callable[[Subparsers], None]

# In the order `callcenter --help` lists them. What a command needs of a feature above its
# own is handed in here.
COMMANDS: tuple[AddCommands, ...] = (
    serve.add_commands,  # serve, migrate
    asterisk.add_commands,  # asterisk
    calls.add_commands,  # ami replay|capture
    # recordings check|purge|catalogue; QA's purge holds the recordings under inspection
    functools.partial(recordings.add_commands, purge=qa.cmd_recordings_purge),
    qa.add_commands,  # qa draw|verify-draw|assign|samples
    ops.add_commands,  # doctor
    agents.add_commands,  # agent ...
    callbacks.add_commands,  # callback ...
    accounts.add_commands,  # user ...
    # asr transcribe|check; QA's samples are transcribed first
    functools.partial(asr.add_commands, sampled=sampled_calls()),
)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="callcenter", description="Call-center backend for Asterisk."
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    subparsers = parser.add_subparsers(dest="command", required=True)
    for add_commands in COMMANDS:
        add_commands(subparsers)
    return parser


def _setup_logging(config: Config, verbose: bool) -> None:
    from callcenter.ops.logging import config_secrets, setup_logging

    setup_logging(
        config.ops.log_format,
        logging.DEBUG if verbose else logging.INFO,
        secrets=[
            *config_secrets(config.ami.secret, config.database.url),
            # Issue 19: the other per-install secrets never reach a log either.
            *(s for s in (config.asterisk.sip_password, config.router.agi_key) if s),
            *([config.web.api_token] if config.web.api_token else []),
        ],
    )


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        config = config_module.load(os.environ)
    except ConfigError as exc:
        print(f"callcenter: configuration error: {exc}", file=sys.stderr)
        return 2
    _setup_logging(config, args.verbose)
    handler: Handler = args.func
    try:
        return handler(config, args)
    except ConfigError as exc:  # a feature's own setting, checked when it starts (QA's form)
        print(f"callcenter: configuration error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    raise SystemExit(main())
