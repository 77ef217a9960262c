"""Login cost: a wrong password for a real user vs an unknown username, against the raw KDF.

Both failures must cost the same (no user enumeration by timing), and both
should be about one scrypt. The baseline is `hashlib.scrypt` with the same
parameters in the same run; the Accounts service runs over a temp SQLite file.

    .venv/bin/python bench/login.py [--rounds N]
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import json
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from callcenter.accounts.passwords import DEFAULT_PARAMS  # noqa: E402
from callcenter.accounts.service import Accounts, LoginFailed  # noqa: E402
from callcenter.accounts.store import AccountRepository  # noqa: E402
from callcenter.config import AuthConfig  # noqa: E402
from callcenter.kernel.db import create_engine, create_session_factory  # noqa: E402
from callcenter.kernel.migrate import upgrade_to_head  # noqa: E402
from callcenter.kernel.roles import Role  # noqa: E402


def _kdf() -> float:
    p = DEFAULT_PARAMS
    start = time.perf_counter()
    hashlib.scrypt(b"password", salt=b"0" * 16, n=p.n, r=p.r, p=p.p, maxmem=p.maxmem, dklen=32)
    return time.perf_counter() - start


async def _failed_login(accounts: Accounts, username: str) -> float:
    accounts.throttle._entries.clear()  # measure the check, not the lockout
    start = time.perf_counter()
    try:
        await accounts.login(username, "not-the-password", None)
    except LoginFailed:
        pass
    return time.perf_counter() - start


async def main(rounds: int) -> dict[str, float]:
    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite+aiosqlite:///{tmp}/bench.db"
        await upgrade_to_head(url)
        engine = create_engine(url)
        try:
            accounts = Accounts(AccountRepository(create_session_factory(engine)), AuthConfig())
            await accounts.create_user("known", role=Role.QA, password="the-right-password")
            await _failed_login(accounts, "ghost")  # the dummy hash, made once
            kdf, known, unknown = [], [], []
            for _ in range(rounds):  # interleaved in random order: drift hits all alike
                for case in random.sample(["kdf", "known", "ghost"], 3):
                    if case == "kdf":
                        kdf.append(_kdf())
                    else:
                        timing = await _failed_login(accounts, case)
                        (known if case == "known" else unknown).append(timing)
        finally:
            await engine.dispose()
    result = {
        "kdf_ms": statistics.median(kdf) * 1000,
        "known_user_ms": statistics.median(known) * 1000,
        "unknown_user_ms": statistics.median(unknown) * 1000,
    }
    result["known_vs_kdf"] = result["known_user_ms"] / result["kdf_ms"]
    result["unknown_vs_known"] = result["unknown_user_ms"] / result["known_user_ms"]
    return result


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rounds", type=int, default=20)
    numbers = asyncio.run(main(parser.parse_args().rounds))
    print("| case | median ms | ratio |")
    print("|---|---|---|")
    print(f"| raw scrypt (baseline) | {numbers['kdf_ms']:.1f} | 1.00 |")
    print(
        f"| failed login, real user | {numbers['known_user_ms']:.1f} |"
        f" {numbers['known_vs_kdf']:.2f} x scrypt |"
    )
    print(
        f"| failed login, unknown user | {numbers['unknown_user_ms']:.1f} |"
        f" {numbers['unknown_vs_known']:.2f} x real user |"
    )
    print("JSON " + json.dumps(numbers))
