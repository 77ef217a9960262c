"""`callcenter asterisk install|start|stop|restart|status|cli`: the local Asterisk."""

from __future__ import annotations

import argparse
import sys

from callcenter.config import Config, with_install_secrets
from callcenter.kernel.commands import Subparsers


def add_commands(subparsers: Subparsers) -> None:
    # An action argument, not subcommands: the usage the README and scripts/ document.
    asterisk = subparsers.add_parser("asterisk", help="manage the local Asterisk")
    asterisk.add_argument(
        "asterisk_action", choices=["install", "start", "stop", "restart", "status", "cli"]
    )
    asterisk.add_argument("command", nargs="*", help="for `cli`: the Asterisk CLI command")
    asterisk.set_defaults(func=cmd_asterisk)


def cmd_asterisk(config: Config, args: argparse.Namespace) -> int:
    """Run the action; a failure Asterisk's runtime explains (a port taken, a failed
    install) is one line on stderr and exit 1, not a traceback."""
    from callcenter.asterisk.instance import AsteriskRuntimeError

    try:
        return _asterisk(config, args)
    except AsteriskRuntimeError as exc:
        print(f"callcenter asterisk {args.asterisk_action}: {exc}", file=sys.stderr)
        return 1


def _asterisk(config: Config, args: argparse.Namespace) -> int:
    from callcenter.asterisk import runtime

    action = args.asterisk_action
    if action in ("install", "start", "restart"):
        # Read again from the same environment, now with the per-install secrets file.
        config = with_install_secrets()
    if action == "install":
        print(runtime.install(config))
    elif action == "start":
        runtime.install(config)
        instance = runtime.start(config)
        print(
            f"asterisk started; AMI 127.0.0.1:{config.ami.port}, SIP 127.0.0.1:"
            f"{config.asterisk.sip_port}, recordings {instance.recordings_host_dir}"
        )
    elif action == "stop":
        runtime.stop(config.asterisk)
        print("asterisk stopped")
    elif action == "restart":
        runtime.restart(config)
        print("asterisk restarted")
    elif action == "status":
        status = runtime.status(config.asterisk)
        print(status)
        return 0 if status.running else 3
    elif action == "cli":
        print(runtime.cli(runtime.instance_for(config.asterisk), " ".join(args.command)))
    return 0
