"""Where one Asterisk instance keeps its files, seen from the host and from Asterisk.

In chroot mode Asterisk only sees the chroot, so every instance directory lives
inside it (`CHROOT/srv/callcenter/<name>`) and paths written into its config
are the in-chroot ones. The backend reads recordings through the host path.
"""

from __future__ import annotations

import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Literal

from callcenter.config import AsteriskConfig

Mode = Literal["host", "chroot"]

ASTERISK_BINARY = "/usr/sbin/asterisk"


class AsteriskRuntimeError(RuntimeError):
    """Installing, rendering, starting or stopping Asterisk failed; the message says why."""

    error_id = "asterisk-runtime"


def apt_has_asterisk() -> bool:
    """True when the host's apt knows an installable `asterisk` package."""
    if shutil.which("apt-cache") is None:
        return False
    out = subprocess.run(
        ["apt-cache", "policy", "asterisk"], capture_output=True, text=True, check=False
    ).stdout
    for line in out.splitlines():
        key, _, value = line.strip().partition(":")
        if key == "Candidate":
            return value.strip() not in ("", "(none)")
    return False


def resolve_mode(cfg: AsteriskConfig) -> Mode:
    """Turn "auto" into host or chroot, the same way for install and start."""
    if cfg.mode == "host":
        return "host"
    if cfg.mode == "chroot":
        return "chroot"
    if Path(ASTERISK_BINARY).exists() or apt_has_asterisk():
        return "host"
    return "chroot"


@dataclass(frozen=True)
class Instance:
    """One Asterisk instance's directories.

    `root` is the host path, `asterisk_root` the same directory as Asterisk
    sees it (identical in host mode).
    """

    name: str
    mode: Mode
    root: Path
    asterisk_root: PurePosixPath
    chroot_dir: Path | None
    link: Path  # cfg.instance_dir: the stable host path (a symlink in chroot mode)

    def host(self, sub: str) -> Path:
        return self.root / sub

    def inside(self, sub: str) -> PurePosixPath:
        return self.asterisk_root / sub

    @property
    def config_dir(self) -> Path:
        return self.host("etc")

    @property
    def asterisk_conf(self) -> PurePosixPath:
        """The `-C` argument, as Asterisk sees it."""
        return self.inside("etc/asterisk.conf")

    @property
    def run_dir(self) -> Path:
        return self.host("run")

    @property
    def pid_file(self) -> Path:
        return self.run_dir / "asterisk.pid"

    @property
    def log_dir(self) -> Path:
        return self.host("log")

    @property
    def messages_log(self) -> Path:
        return self.log_dir / "messages.log"

    @property
    def spool_dir(self) -> Path:
        return self.host("spool")

    @property
    def lib_dir(self) -> Path:
        return self.host("lib")

    @property
    def sounds_host_dir(self) -> Path:
        return self.host("sounds")

    @property
    def sounds_asterisk_dir(self) -> PurePosixPath:
        return self.inside("sounds")

    @property
    def recordings_host_dir(self) -> Path:
        return self.host("recordings")

    @property
    def recordings_asterisk_dir(self) -> PurePosixPath:
        return self.inside("recordings")

    def command(self, *args: str) -> list[str]:
        """An Asterisk command line for this instance (run through chroot when needed)."""
        argv = [ASTERISK_BINARY, "-C", str(self.asterisk_conf), *args]
        if self.chroot_dir is not None:
            return ["chroot", str(self.chroot_dir), *argv]
        return argv


def instance_for(cfg: AsteriskConfig, mode: Mode | None = None) -> Instance:
    """The instance that `cfg` describes (no I/O beyond resolving "auto")."""
    resolved = mode or resolve_mode(cfg)
    if resolved == "host":
        root = cfg.instance_dir.absolute()
        return Instance(
            name=cfg.instance_name,
            mode="host",
            root=root,
            asterisk_root=PurePosixPath(root),
            chroot_dir=None,
            link=root,
        )
    inner = PurePosixPath("/srv/callcenter") / cfg.instance_name
    chroot = cfg.chroot_dir.absolute()
    return Instance(
        name=cfg.instance_name,
        mode="chroot",
        root=chroot / inner.relative_to("/"),
        asterisk_root=inner,
        chroot_dir=chroot,
        link=cfg.instance_dir.absolute(),
    )
