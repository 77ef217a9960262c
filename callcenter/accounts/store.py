"""Users and server-side sessions.

Sessions are looked up by the SHA-256 of the cookie's token (the token itself
is never stored). A session resolves only while its user exists and is
enabled, so disabling an account ends its sessions at their next request.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from callcenter.accounts.tables import SessionRow, UserRow
from callcenter.accounts.users import AccountError, User
from callcenter.kernel.clock import to_datetime
from callcenter.kernel.roles import Role

USER_AGENT_CHARS = 512


def _user(row: UserRow) -> User:
    return User(
        id=row.id,
        username=row.username,
        display_name=row.display_name,
        role=Role(row.role),
        staff_no=row.staff_no,
        password_hash=row.password_hash,
        disabled=row.disabled,
        created_at=row.created_at.timestamp(),
        password_changed_at=row.password_changed_at.timestamp(),
    )


@dataclass(frozen=True)
class StoredSession:
    id: int
    user_id: int
    csrf_token: str
    created_at: float
    last_seen_at: float
    expires_at: float


class AccountRepository:
    def __init__(self, session_factory: async_sessionmaker[AsyncSession]) -> None:
        self._sessions = session_factory

    # -- users ------------------------------------------------------------------------------

    async def add_user(
        self,
        username: str,
        display_name: str,
        role: Role,
        staff_no: str | None,
        password_hash: str,
        now: float,
    ) -> User:
        row = UserRow(
            username=username,
            display_name=display_name,
            role=role.value,
            staff_no=staff_no,
            password_hash=password_hash,
            disabled=False,
            created_at=to_datetime(now),
            password_changed_at=to_datetime(now),
        )
        try:
            async with self._sessions() as session, session.begin():
                session.add(row)
        except IntegrityError:
            raise await self._conflict(username, staff_no) from None
        return _user(row)

    async def _conflict(self, username: str, staff_no: str | None) -> AccountError:
        if await self.get_user(username) is not None:
            return AccountError(
                "username-taken", f"there is already a user {username!r}", username=username
            )
        return AccountError(
            "staff-no-taken",
            f"agent {staff_no} already has an account",
            staff_no=staff_no,
        )

    async def get_user(self, username: str) -> User | None:
        async with self._sessions() as session:
            row = await session.scalar(sa.select(UserRow).where(UserRow.username == username))
        return None if row is None else _user(row)

    async def list_users(self) -> list[User]:
        async with self._sessions() as session:
            rows = (await session.scalars(sa.select(UserRow).order_by(UserRow.username))).all()
        return [_user(r) for r in rows]

    async def update_user(self, username: str, **values: Any) -> User:
        """Change role, display_name, staff_no or disabled; unknown users are an error."""
        try:
            async with self._sessions() as session, session.begin():
                row = await session.scalar(
                    sa.select(UserRow).where(UserRow.username == username).with_for_update()
                )
                if row is None:
                    raise _unknown(username)
                for name, value in values.items():
                    setattr(row, name, value.value if isinstance(value, Role) else value)
                if values.get("disabled"):
                    await session.execute(sa.delete(SessionRow).where(SessionRow.user_id == row.id))
        except IntegrityError:
            raise AccountError(
                "staff-no-taken",
                f"agent {values.get('staff_no')} already has an account",
                staff_no=values.get("staff_no"),
            ) from None
        return _user(row)

    async def set_password(
        self, username: str, password_hash: str, now: float, keep_session: int | None = None
    ) -> User:
        """Store a new hash and end the user's other sessions (a stolen one dies with it)."""
        async with self._sessions() as session, session.begin():
            row = await session.scalar(
                sa.select(UserRow).where(UserRow.username == username).with_for_update()
            )
            if row is None:
                raise _unknown(username)
            row.password_hash = password_hash
            row.password_changed_at = to_datetime(now)
            ends = sa.delete(SessionRow).where(SessionRow.user_id == row.id)
            if keep_session is not None:
                ends = ends.where(SessionRow.id != keep_session)
            await session.execute(ends)
        return _user(row)

    async def rehash(self, user_id: int, old_hash: str, new_hash: str) -> None:
        """Upgrade a hash to the current parameters, unless the password changed meanwhile."""
        async with self._sessions() as session, session.begin():
            await session.execute(
                sa.update(UserRow)
                .where(UserRow.id == user_id, UserRow.password_hash == old_hash)
                .values(password_hash=new_hash)
            )

    async def active_admins(self) -> int:
        async with self._sessions() as session:
            count = await session.scalar(
                sa.select(sa.func.count())
                .select_from(UserRow)
                .where(UserRow.role == Role.ADMIN.value, UserRow.disabled.is_(False))
            )
        return int(count or 0)

    # -- sessions ---------------------------------------------------------------------------

    async def create_session(
        self,
        user_id: int,
        token_hash: str,
        csrf_token: str,
        now: float,
        expires_at: float,
        ip: str | None,
        user_agent: str | None,
    ) -> StoredSession:
        row = SessionRow(
            token_hash=token_hash,
            user_id=user_id,
            csrf_token=csrf_token,
            created_at=to_datetime(now),
            last_seen_at=to_datetime(now),
            expires_at=to_datetime(expires_at),
            ip=ip,
            user_agent=user_agent[:USER_AGENT_CHARS] if user_agent else None,
        )
        async with self._sessions() as session, session.begin():
            session.add(row)
        return _stored(row)

    async def find_session(self, token_hash: str) -> tuple[StoredSession, User] | None:
        """The session and its user, whatever their state (the caller judges expiry)."""
        async with self._sessions() as session:
            found = (
                await session.execute(
                    sa.select(SessionRow, UserRow)
                    .join(UserRow, UserRow.id == SessionRow.user_id)
                    .where(SessionRow.token_hash == token_hash)
                )
            ).one_or_none()
        if found is None:
            return None
        return _stored(found[0]), _user(found[1])

    async def touch_session(self, session_id: int, now: float) -> None:
        async with self._sessions() as session, session.begin():
            await session.execute(
                sa.update(SessionRow)
                .where(SessionRow.id == session_id)
                .values(last_seen_at=to_datetime(now))
            )

    async def delete_session(self, token_hash: str) -> bool:
        async with self._sessions() as session, session.begin():
            result = await session.execute(
                sa.delete(SessionRow).where(SessionRow.token_hash == token_hash)
            )
        return bool(getattr(result, "rowcount", 0))

    async def user_sessions(self, user_id: int) -> list[StoredSession]:
        async with self._sessions() as session:
            rows = (
                await session.scalars(
                    sa.select(SessionRow)
                    .where(SessionRow.user_id == user_id)
                    .order_by(SessionRow.created_at)
                )
            ).all()
        return [_stored(r) for r in rows]

    async def purge_sessions(self, now: float, idle: float) -> int:
        """Delete sessions past their absolute limit or idle for longer than `idle`."""
        async with self._sessions() as session, session.begin():
            result = await session.execute(
                sa.delete(SessionRow).where(
                    sa.or_(
                        SessionRow.expires_at <= to_datetime(now),
                        SessionRow.last_seen_at <= to_datetime(now - idle),
                    )
                )
            )
        return int(getattr(result, "rowcount", 0) or 0)


def _stored(row: SessionRow) -> StoredSession:
    return StoredSession(
        id=row.id,
        user_id=row.user_id,
        csrf_token=row.csrf_token,
        created_at=row.created_at.timestamp(),
        last_seen_at=row.last_seen_at.timestamp(),
        expires_at=row.expires_at.timestamp(),
    )


def _unknown(username: str) -> AccountError:
    return AccountError("user-not-found", f"no user {username!r}", username=username)
