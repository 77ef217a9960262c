"""Accounts: users, logins and sessions, over the repository. Used by the web and the CLI.

Password hashing runs in worker threads (`asyncio.to_thread`), at most
`kdf_slots` at once: each scrypt takes ~0.1 s of CPU and 32 MiB, and a burst
of logins must neither stall the event loop nor exhaust memory.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import secrets
import time
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from callcenter.accounts import passwords
from callcenter.accounts.passwords import DEFAULT_PARAMS, PasswordPolicyError, ScryptParams
from callcenter.accounts.store import AccountRepository, StoredSession
from callcenter.accounts.throttle import LoginThrottle, ThrottleSettings
from callcenter.accounts.users import (
    AccountError,
    User,
    check_display_name,
    check_staff_no,
    normalise_username,
    parse_role,
)
from callcenter.config import AuthConfig
from callcenter.kernel.clock import Clock
from callcenter.kernel.errors import Kind
from callcenter.kernel.roles import Principal, Role

log = logging.getLogger(__name__)

TOUCH_EVERY = 60.0  # seconds: how stale last_seen_at may get (idle expiry is this coarse)
GENERIC_LOGIN_ERROR = "wrong username or password"


class LoginFailed(AccountError):
    default_kind = Kind.UNAUTHENTICATED


class LoginThrottled(AccountError):
    default_kind = Kind.THROTTLED

    def __init__(self, retry_after: int) -> None:
        super().__init__(
            "login-throttled",
            f"too many failed logins: try again in {retry_after} seconds",
            retry_after=retry_after,
        )
        self.retry_after = retry_after


@dataclass(frozen=True)
class ActiveSession:
    principal: Principal
    session: StoredSession


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def throttle_settings(config: AuthConfig) -> ThrottleSettings:
    return ThrottleSettings(
        max_failures=config.login_max_failures,
        ip_max_failures=config.login_ip_max_failures,
        window=config.login_window,
        lockout=config.login_lockout,
        max_lockout=config.login_max_lockout,
    )


async def enabled_users(
    session_factory: async_sessionmaker[AsyncSession], role: Role
) -> dict[str, int]:
    """Username -> user id of the enabled users with this role (QA's inspectors)."""
    users = await AccountRepository(session_factory).list_users()
    return {u.username: u.id for u in users if u.role is role and not u.disabled}


class Accounts:
    def __init__(
        self,
        repository: AccountRepository,
        config: AuthConfig,
        *,
        clock: Clock = time.time,
        params: ScryptParams = DEFAULT_PARAMS,
        kdf_slots: int = 2,
    ) -> None:
        self.repository = repository
        self.config = config
        self.clock = clock
        self.params = params
        self.throttle = LoginThrottle(throttle_settings(config), lambda: self.clock())
        self._kdf = asyncio.Semaphore(kdf_slots)

    # -- passwords --------------------------------------------------------------------------

    async def _hash(self, password: str) -> str:
        async with self._kdf:
            return await asyncio.to_thread(passwords.hash_password, password, self.params)

    async def _verify(self, password: str, encoded: str) -> bool:
        async with self._kdf:
            return await asyncio.to_thread(passwords.verify_password, password, encoded)

    def check_password(self, password: object, username: str) -> str:
        if not isinstance(password, str):
            raise AccountError("bad-password", "password must be a string")
        try:
            passwords.check_policy(password, username, self.config.password_min_length)
        except PasswordPolicyError as exc:
            raise AccountError(exc.error_id, str(exc)) from None
        return password

    # -- users ------------------------------------------------------------------------------

    async def create_user(
        self,
        username: object,
        *,
        role: object,
        password: object,
        display_name: object = None,
        staff_no: object = None,
    ) -> User:
        name = normalise_username(username)
        parsed_role = parse_role(role)
        staff = check_staff_no(parsed_role, staff_no)
        display = check_display_name(display_name, name)
        secret = self.check_password(password, name)
        if await self.repository.get_user(name) is not None:
            raise AccountError("username-taken", f"there is already a user {name!r}")
        encoded = await self._hash(secret)
        return await self.repository.add_user(
            name, display, parsed_role, staff, encoded, self.clock()
        )

    async def user(self, username: object) -> User:
        name = normalise_username(username)
        found = await self.repository.get_user(name)
        if found is None:
            raise AccountError("user-not-found", f"no user {name!r}", username=name)
        return found

    async def list_users(self) -> list[User]:
        return await self.repository.list_users()

    async def change(
        self,
        username: object,
        *,
        role: object = None,
        display_name: object = None,
        staff_no: object = ...,
        disabled: bool | None = None,
    ) -> User:
        """Change what is given; refuse to leave the system without an enabled admin."""
        current = await self.user(username)
        values: dict[str, object] = {}
        new_role = current.role if role is None else parse_role(role)
        if role is not None:
            values["role"] = new_role
        if staff_no is not ...:
            values["staff_no"] = check_staff_no(new_role, staff_no)
        elif role is not None:
            check_staff_no(new_role, current.staff_no)
        if display_name is not None:
            values["display_name"] = check_display_name(display_name, current.username)
        if disabled is not None:
            values["disabled"] = disabled
        loses_admin = current.role is Role.ADMIN and not current.disabled
        loses_admin = loses_admin and (new_role is not Role.ADMIN or disabled is True)
        if loses_admin and await self.repository.active_admins() <= 1:
            raise AccountError(
                "last-admin",
                f"{current.username} is the only enabled admin: make another admin first",
            )
        if not values:
            return current
        return await self.repository.update_user(current.username, **values)

    async def set_password(
        self, username: object, password: object, keep_session: int | None = None
    ) -> User:
        current = await self.user(username)
        secret = self.check_password(password, current.username)
        encoded = await self._hash(secret)
        return await self.repository.set_password(
            current.username, encoded, self.clock(), keep_session
        )

    # -- logging in -------------------------------------------------------------------------

    async def login(self, username: object, password: object, ip: str | None) -> User:
        """The user behind a correct username and password, or LoginFailed/LoginThrottled.

        An unknown username costs the same scrypt as a known one, and both get the
        same message, so neither the answer nor its timing tells which names exist.
        """
        raw = username.strip() if isinstance(username, str) else ""
        secret = password if isinstance(password, str) else ""
        wait = self.throttle.retry_after(raw, ip)
        if wait is not None:
            raise LoginThrottled(wait)
        try:
            name = normalise_username(raw)
        except AccountError:
            name = ""
        user = await self.repository.get_user(name) if name else None
        encoded = user.password_hash if user is not None else passwords.dummy_hash(self.params)
        ok = await self._verify(secret, encoded) and user is not None
        if not ok or user is None:
            self.throttle.failure(raw, ip)
            log.info("failed login for %r from %s", raw[:64], ip)
            raise LoginFailed("login-failed", GENERIC_LOGIN_ERROR)
        if user.disabled:
            # Said only to someone who knows the password: it is no enumeration.
            raise LoginFailed("account-disabled", "this account is disabled: ask an admin")
        self.throttle.success(raw, ip)
        if passwords.needs_rehash(user.password_hash, self.params):
            await self.repository.rehash(user.id, user.password_hash, await self._hash(secret))
        return user

    # -- sessions ---------------------------------------------------------------------------

    async def start_session(
        self, user: User, ip: str | None, user_agent: str | None, replacing: str | None = None
    ) -> tuple[str, StoredSession]:
        """A fresh session (new token) for `user`; the one it replaces is deleted (rotation)."""
        now = self.clock()
        if replacing:
            await self.repository.delete_session(token_hash(replacing))
        await self.repository.purge_sessions(now, self.config.session_idle)
        token = secrets.token_urlsafe(32)
        stored = await self.repository.create_session(
            user.id,
            token_hash(token),
            secrets.token_urlsafe(32),
            now,
            now + self.config.session_max,
            ip,
            user_agent,
        )
        return token, stored

    async def resolve(self, token: str) -> ActiveSession | None:
        """The live session behind a cookie's token; an expired one is deleted."""
        found = await self.repository.find_session(token_hash(token))
        if found is None:
            return None
        session, user = found
        now = self.clock()
        if now >= session.expires_at or now - session.last_seen_at >= self.config.session_idle:
            await self.repository.delete_session(token_hash(token))
            return None
        if user.disabled:
            return None
        if now - session.last_seen_at >= TOUCH_EVERY:
            await self.repository.touch_session(session.id, now)
        return ActiveSession(user.principal("session"), session)

    async def end_session(self, token: str) -> bool:
        return await self.repository.delete_session(token_hash(token))
