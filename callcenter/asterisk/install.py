"""Install Asterisk 22: the OS package when there is one, else a Debian-unstable chroot.

Debian 12 has no `asterisk` package, so the usual path is
`debootstrap --variant=minbase --include=asterisk,asterisk-modules sid`, built
into a temporary directory next to the target and renamed when complete, so a
half-built chroot is never mistaken for a working one. The mirror is read from
the machine's own apt sources at run time: no package host is written here.
"""

from __future__ import annotations

import fcntl
import logging
import os
import shutil
import stat
import subprocess
from collections.abc import Iterable
from pathlib import Path
from urllib.parse import urlparse

from callcenter.asterisk.instance import (
    ASTERISK_BINARY,
    AsteriskRuntimeError,
    resolve_mode,
)
from callcenter.config import AsteriskConfig

log = logging.getLogger(__name__)

SUITE = "sid"
PACKAGES = ("asterisk", "asterisk-modules")
# (name, major, minor) of the character devices Asterisk opens.
DEVICES = (("null", 1, 3), ("zero", 1, 5), ("random", 1, 8), ("urandom", 1, 9))


def _deb822_uris(text: str) -> list[tuple[str, list[str]]]:
    """(uri, suites) of each `Types: deb` stanza of a .sources file."""
    found: list[tuple[str, list[str]]] = []
    for stanza in text.split("\n\n"):
        fields: dict[str, str] = {}
        for line in stanza.splitlines():
            if line.startswith("#") or ":" not in line or line[:1].isspace():
                continue
            key, _, value = line.partition(":")
            fields[key.strip().lower()] = value.strip()
        if fields.get("enabled", "yes").lower() == "no":
            continue
        if "deb" not in fields.get("types", "").split():
            continue
        suites = fields.get("suites", "").split()
        found.extend((uri, suites) for uri in fields.get("uris", "").split())
    return found


def _one_line_uris(text: str) -> list[tuple[str, list[str]]]:
    """(uri, [suite]) of each `deb` line of a sources.list file."""
    found: list[tuple[str, list[str]]] = []
    for raw in text.splitlines():
        words = raw.split("#", 1)[0].split()
        if not words or words[0] != "deb":
            continue
        words = words[1:]
        if words and words[0].startswith("["):  # options such as [signed-by=...]
            while words and not words[0].endswith("]"):
                words = words[1:]
            words = words[1:]
        if len(words) >= 2:
            found.append((words[0], [words[1]]))
    return found


def choose_mirror(candidates: Iterable[tuple[str, list[str]]]) -> str | None:
    """The main Debian archive among apt's sources (not security, not third-party)."""
    usable = [
        (uri, suites)
        for uri, suites in candidates
        if urlparse(uri).scheme in ("http", "https")
        and not any(s.endswith(("-security", "/updates")) for s in suites)
        and "security" not in uri
    ]
    for uri, _ in usable:
        if urlparse(uri).path.rstrip("/").endswith("/debian"):
            return uri
    return usable[0][0] if usable else None


def read_mirror(etc_apt: Path = Path("/etc/apt")) -> str:
    """The Debian mirror this machine already uses."""
    candidates: list[tuple[str, list[str]]] = []
    for path in sorted((etc_apt / "sources.list.d").glob("*.sources")):
        candidates += _deb822_uris(path.read_text(errors="replace"))
    legacy = [etc_apt / "sources.list", *sorted((etc_apt / "sources.list.d").glob("*.list"))]
    for path in legacy:
        if path.is_file():
            candidates += _one_line_uris(path.read_text(errors="replace"))
    mirror = choose_mirror(candidates)
    if mirror is None:
        raise AsteriskRuntimeError(
            f"no Debian mirror found in {etc_apt}/sources.list(.d); debootstrap needs one"
        )
    return mirror


def chroot_version(chroot_dir: Path) -> str | None:
    """`asterisk -V` inside the chroot, or None when it is not a working chroot."""
    if not (chroot_dir / ASTERISK_BINARY.lstrip("/")).exists():
        return None
    proc = subprocess.run(
        ["chroot", str(chroot_dir), ASTERISK_BINARY, "-V"],
        capture_output=True,
        text=True,
        check=False,
    )
    out = proc.stdout.strip()
    return out if proc.returncode == 0 and out.startswith("Asterisk") else None


def ensure_devices(chroot_dir: Path) -> None:
    """Create the few /dev nodes Asterisk needs, without mounting /dev."""
    dev = chroot_dir / "dev"
    dev.mkdir(exist_ok=True)
    for name, major, minor in DEVICES:
        node = dev / name
        if node.is_char_device():
            continue
        if node.exists() or node.is_symlink():
            node.unlink()
        os.mknod(node, stat.S_IFCHR | 0o666, os.makedev(major, minor))
        os.chmod(node, 0o666)  # mknod honours the umask


def _apt_install(*packages: str) -> None:
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    cmd = ["apt-get", "install", "-y", "--no-install-recommends", *packages]
    if subprocess.run(cmd, env=env, check=False).returncode == 0:
        return
    # A fresh machine often has stale or no package lists.
    subprocess.run(["apt-get", "update"], env=env, check=True)
    subprocess.run(cmd, env=env, check=True)


def _unmount_under(path: Path) -> None:
    """debootstrap mounts /proc and /sys in the target; a killed run leaves them."""
    prefix = str(path.absolute())
    mounts = Path("/proc/mounts").read_text().splitlines()
    points = [m.split()[1] for m in mounts if len(m.split()) > 1]
    for point in sorted((p for p in points if p.startswith(prefix + "/")), reverse=True):
        subprocess.run(["umount", "-l", point], check=False)


def _remove_partial(path: Path) -> None:
    _unmount_under(path)
    shutil.rmtree(path, ignore_errors=True)


def install_chroot(chroot_dir: Path, mirror: str | None = None) -> str:
    """Build (or reuse) the chroot; return `asterisk -V`."""
    target = chroot_dir.absolute()
    target.parent.mkdir(parents=True, exist_ok=True)
    lock_path = target.parent / f".{target.name}.lock"
    with lock_path.open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # a second install waits, then reuses
        version = chroot_version(target)
        if version is not None:
            ensure_devices(target)
            return version
        if target.exists():
            raise AsteriskRuntimeError(
                f"{target} exists but has no working Asterisk; remove it and install again"
            )
        for stale in target.parent.glob(f".{target.name}.partial-*"):
            _remove_partial(stale)
        if shutil.which("debootstrap") is None:
            _apt_install("debootstrap")
        mirror = mirror or read_mirror()
        partial = target.parent / f".{target.name}.partial-{os.getpid()}"
        cmd = [
            "debootstrap",
            "--variant=minbase",
            f"--include={','.join(PACKAGES)}",
            SUITE,
            str(partial),
            mirror,
        ]
        log.info("building the Asterisk chroot: %s", " ".join(cmd))
        try:
            proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
            if proc.returncode != 0:
                tail = "\n".join((proc.stdout + proc.stderr).splitlines()[-20:])
                raise AsteriskRuntimeError(f"debootstrap failed ({proc.returncode}):\n{tail}")
            _unmount_under(partial)
            ensure_devices(partial)
            version = chroot_version(partial)
            if version is None:
                raise AsteriskRuntimeError(f"debootstrap finished but {partial} runs no Asterisk")
            partial.rename(target)
        except BaseException:
            _remove_partial(partial)
            raise
        return version


def install_host() -> str:
    if not Path(ASTERISK_BINARY).exists():
        _apt_install(*PACKAGES)
    proc = subprocess.run([ASTERISK_BINARY, "-V"], capture_output=True, text=True, check=True)
    return proc.stdout.strip()


def install(cfg: AsteriskConfig) -> str:
    """Idempotent: install Asterisk for `cfg`'s mode and return its version line."""
    if resolve_mode(cfg) == "host":
        return install_host()
    return install_chroot(cfg.chroot_dir)
