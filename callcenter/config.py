"""Configuration: frozen dataclasses built from the environment at start.

Nothing here reads the environment at import time; `load()` is called once by
the CLI and the result is passed down explicitly.
"""

from __future__ import annotations

import contextlib
import ipaddress
import os
import re
import secrets as _secrets
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path


class ConfigError(ValueError):
    """A configuration value is missing or malformed; the message names the variable."""

    error_id = "config-invalid"


# What the code and the docs shipped with before per-install secrets. Anyone who has read
# the repository knows them, so the service and the Asterisk render refuse them.
DEV_AMI_SECRET = "callcenter-dev-secret"
DEV_SIP_PASSWORD = "callcenter-dev-sip"
SECRETS_FILE = "secrets.env"
# The variables the secrets file may hold; the environment wins over the file.
SECRET_VARIABLES = (
    "CALLCENTER_AMI_SECRET",
    "CALLCENTER_SIP_PASSWORD",
    "CALLCENTER_API_TOKEN",
    "CALLCENTER_AGI_KEY",
)
# Secrets go into Asterisk's config files and the AGI URL: no whitespace, no `;`
# (a comment there), no `,` `?` `&` `)` (argument and query separators), no `$`.
_SECRET_CHARS = re.compile(r"[A-Za-z0-9._~+/=:@%-]{8,256}")


def _state_dir(environ: Mapping[str, str]) -> Path:
    """Where the project keeps its runtime state (chroot, rendered config, spool)."""
    if "CALLCENTER_STATE_DIR" in environ:
        return Path(environ["CALLCENTER_STATE_DIR"])
    cache = environ.get("XDG_CACHE_HOME") or str(Path(environ.get("HOME", "/root")) / ".cache")
    return Path(cache) / "callcenter"


def _int(environ: Mapping[str, str], name: str, default: int) -> int:
    raw = environ.get(name)
    if raw is None or raw == "":
        return default
    try:
        return int(raw)
    except ValueError:
        raise ConfigError(f"{name} must be an integer, got {raw!r}") from None


def _float(environ: Mapping[str, str], name: str, default: float) -> float:
    raw = environ.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = float(raw)
    except ValueError:
        raise ConfigError(f"{name} must be a number, got {raw!r}") from None
    if value <= 0:
        raise ConfigError(f"{name} must be positive, got {raw!r}")
    return value


@dataclass(frozen=True)
class AmiConfig:
    host: str = "127.0.0.1"
    port: int = 5038
    username: str = "callcenter"
    secret: str = DEV_AMI_SECRET
    action_timeout: float = 10.0
    ping_interval: float = 5.0
    ping_timeout: float = 5.0
    reconnect_min: float = 0.5
    reconnect_max: float = 30.0
    reconcile_interval: float = 60.0


@dataclass(frozen=True)
class AsteriskConfig:
    """Where and how the local Asterisk runs.

    `mode` is "auto" (OS package if the OS has one, else a Debian-unstable
    chroot), "host" or "chroot".
    """

    mode: str = "auto"
    chroot_dir: Path = Path("/var/lib/callcenter/asterisk-chroot")
    instance_dir: Path = Path("/var/lib/callcenter/asterisk")
    sip_port: int = 5060
    rtp_start: int = 10000
    rtp_end: int = 10999
    inbound_number: str = "600"
    # Several instances (dev, test) share one chroot; the name keeps their
    # config, sockets, spool and recordings apart.
    instance_name: str = "dev"
    # One password for the demo endpoints 1001-1004 (agents) and 2001-2004 (callers).
    sip_password: str = DEV_SIP_PASSWORD


@dataclass(frozen=True)
class RingConfig:
    """The three-ring answer budget (SERVICE_RULES section 1)."""

    cadence_seconds: float = 5.0
    budget_rings: int = 3

    @property
    def budget_seconds(self) -> float:
        return self.cadence_seconds * self.budget_rings


DEFAULT_CATEGORIES = ("咨詢", "查詢", "投訴", "建議", "報修", "other")
DEFAULT_PAUSE_REASONS = ("break", "meal", "training", "meeting", "coaching", "missed-calls")


@dataclass(frozen=True)
class RouterConfig:
    """The router (SERVICE_RULES sections 1-3); see callcenter.routing."""

    agi_host: str = "127.0.0.1"
    agi_port: int = 4573
    # The per-install key the dialplan puts in every FastAGI URL (`?key=`); "" = none yet,
    # which neither the render nor the server accepts.
    agi_key: str = ""
    skill: str = "support"  # the queue/skill of the inbound number
    max_ring_per_agent: float = 10.0
    min_ring: float = 2.0
    wrap_up_seconds: float = 30.0
    max_missed: int = 2
    pause_reasons: tuple[str, ...] = DEFAULT_PAUSE_REASONS
    categories: tuple[str, ...] = DEFAULT_CATEGORIES
    complaint_category: str = "投訴"
    complaint_reply_hours: float = 48.0
    # Opening hours as shifts, e.g. "A=09:00-17:00,B=12:00-20:00@mon-fri"; "" = 24/7.
    shifts: str = ""
    timezone: str = "UTC"
    position_every: int = 5  # announce the position every N hold rounds
    max_dead_air: float = 3.0  # seconds of silence after connect before it is a defect
    staff_prompt: str = "工號{staff_no}"  # short: the announcement delays the bridge
    prompt_voice: str = "cmn"


@dataclass(frozen=True)
class CallbackConfig:
    """Outbound callbacks (SERVICE_RULES section 4); see callcenter.callbacks."""

    enabled: bool = True
    skill: str = "outbound"  # agents with this skill take callbacks
    caller_id: str = "4008000000"  # the company's number, shown to the customer
    dial: str = "PJSIP/{number}"  # how Asterisk reaches a customer's number
    ring_seconds: int = 30  # how long the customer's phone rings
    agent_ring_seconds: int = 15
    poll_seconds: float = 2.0
    quiet_hours: str = "12:00-14:00,21:00-09:00"
    timezone: str = "Asia/Shanghai"
    max_attempts: int = 3
    retry_minutes: float = 30.0
    do_not_call: str = ""
    instance: str = "callcenter"  # this backend's name in claims
    follow_up_share: float = 0.0  # share of answered calls that get a satisfaction follow-up


@dataclass(frozen=True)
class TrackerConfig:
    inbound_contexts: tuple[str, ...] = ("from-callers", "inbound")
    # AgentComplete can arrive after the last Hangup; a call is finalised this
    # long (seconds of event time) after its last channel is gone.
    finalize_grace: float = 2.0
    # How far back the durable trail (CEL) is searched for calls the backend
    # missed, after a start or an AMI reconnect.
    trail_lookback: float = 24 * 3600.0
    # Hostile or broken input (issue 19), in seconds of event time: a call none of whose
    # channels is live, with no final event, is finished this long after its last event;
    # a call with live channels but no event at all for `idle_expiry` is finished too
    # (the live service's reconcile ends such calls sooner, against Asterisk's own list).
    orphan_expiry: float = 3600.0
    idle_expiry: float = 12 * 3600.0
    # More open calls than this is no call centre: the least recently active is finished.
    max_open_calls: int = 5000
    # An event stamped further than this ahead of the tracker's clock is a bad frame.
    max_clock_skew: float = 3600.0


@dataclass(frozen=True)
class DatabaseConfig:
    url: str = "sqlite+aiosqlite:///callcenter.db"
    batch_size: int = 200
    flush_interval: float = 0.5
    retry_min: float = 0.5
    retry_max: float = 30.0
    spool_path: Path = Path("callcenter-spool.jsonl")


@dataclass(frozen=True)
class WebConfig:
    host: str = "127.0.0.1"
    port: int = 8080
    # Service token (CLI, automation): `Authorization: Bearer <token>` acts as admin.
    api_token: str | None = None
    # The operator says TLS is terminated in front of the web host (a reverse proxy);
    # without it a web host beyond loopback serves passwords and cookies in clear.
    tls_proxy: bool = False

    @property
    def loopback(self) -> bool:
        return is_loopback(self.host)


LOOPBACK_HOSTS = frozenset({"127.0.0.1", "::1", "localhost"})


def is_loopback(host: str) -> bool:
    """True for a loopback name or address (127.0.0.0/8, ::1); "" and 0.0.0.0 are not."""
    if host.strip().lower() in LOOPBACK_HOSTS:
        return True
    try:
        address = ipaddress.ip_address(host.strip().strip("[]"))
    except ValueError:
        return False
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped.is_loopback  # ::ffff:127.0.0.1 from a dual-stack socket
    return address.is_loopback


@dataclass(frozen=True)
class AuthConfig:
    """Accounts and sessions (issue 6); see callcenter.accounts and callcenter.accounts.http."""

    # Secure cookies are only sent over HTTPS; off by default on a loopback web host only.
    cookie_secure: bool = True
    session_idle: float = 2 * 3600.0  # seconds without a request before a session ends
    session_max: float = 12 * 3600.0  # seconds after login when a session ends regardless
    password_min_length: int = 10
    login_max_failures: int = 5  # failed logins per username within the window...
    login_ip_max_failures: int = 30  # ...or per client address (a call center shares one NAT)
    login_window: float = 15 * 60.0
    login_lockout: float = 60.0  # the first lockout; each further one doubles, up to the max
    login_max_lockout: float = 3600.0
    # Behind a reverse proxy: take the client address from the last X-Forwarded-For hop.
    trust_forwarded_for: bool = False


@dataclass(frozen=True)
class OpsConfig:
    """Logging and the `doctor` thresholds."""

    log_format: str = "plain"  # "plain" or "json" (one JSON object per line)
    min_free_mb: int = 1024  # free space the recordings directory must keep


LOG_FORMATS = ("plain", "json")


@dataclass(frozen=True)
class AsrConfig:
    """Transcription and the script checks (issue 5); see callcenter.asr and callcenter.asr.checks.

    The model path itself is `Config.asr_model_path` (None: no ASR).
    """

    transcribe_all: bool = False  # every answered call, not only the sampled ones
    workers: int = 1  # transcription processes; each loads the model once
    max_pending: int = 2  # jobs queued beyond the busy workers before submitters wait
    poll_seconds: float = 30.0  # how often the background transcriber looks for new legs
    language: str = "zh-CN"  # the spoken language: which phrase lists the checks use
    opening_seconds: float = 15.0  # the greeting must be heard this early in the agent leg
    closing_seconds: float = 30.0  # the closing question and goodbye: this close to the end
    company_names: tuple[str, ...] = ()  # extra company/department names for the greeting
    phrases_file: Path | None = None  # JSON phrase lists per language, overriding the defaults


@dataclass(frozen=True)
class DashboardConfig:
    """The live supervisor dashboard (issue 6); see callcenter.dashboard."""

    short_abandon_seconds: float = 5.0  # abandons shorter than this leave one SL variant
    coalesce_seconds: float = 0.1  # updates within this are sent as one (never later)
    client_queue: int = 64  # updates a WebSocket client may fall behind before it is dropped
    case_warn_hours: float = 6.0  # open complaints this close to their deadline are listed
    reconcile_seconds: float = 300.0  # slow re-read of open cases from the database


@dataclass(frozen=True)
class QaConfig:
    """Quality inspection and recording retention (issue 5); see callcenter.qa, .recordings."""

    samples_min: int = 1  # random samples per agent and month, at least...
    samples_max: int = 5  # ...and at most (SERVICE_RULES 5: 1-5 per agent per month)
    targeted_max: int = 10  # targeted samples per agent and month on top; 0: none
    short_call_seconds: float = 15.0  # talk time at or below this: a targeted "short call"
    long_call_seconds: float = 900.0  # talk time at or above this: a targeted "long call"
    due_days: float = 7.0  # an assignment is due this long after it is made
    lock_days: float = 14.0  # evaluations lock this long after submission; 0: only by hand
    defect_below: float | None = None  # item scores below this are defects (None: midpoint)
    # The scoring form as JSON (CALLCENTER_QA_FORM, a file already read); "" for the
    # default form. QA parses and checks it (callcenter.qa.scoring.score_form).
    form_spec: str = ""
    inspectors: tuple[str, ...] = ()  # inspectors besides the users with the qa role
    retention_days: int = 365  # recordings are deleted after this; 0: kept forever
    housekeeping_minutes: float = 60.0  # how often retention and automatic locks run


@dataclass(frozen=True)
class Config:
    ami: AmiConfig = field(default_factory=AmiConfig)
    asterisk: AsteriskConfig = field(default_factory=AsteriskConfig)
    ring: RingConfig = field(default_factory=RingConfig)
    tracker: TrackerConfig = field(default_factory=TrackerConfig)
    database: DatabaseConfig = field(default_factory=DatabaseConfig)
    web: WebConfig = field(default_factory=WebConfig)
    state_dir: Path = Path("var")
    ops: OpsConfig = field(default_factory=OpsConfig)
    # The speech-recognition model (a file or a model directory); None: no ASR.
    asr_model_path: Path | None = None
    router: RouterConfig = field(default_factory=RouterConfig)
    callbacks: CallbackConfig = field(default_factory=CallbackConfig)
    auth: AuthConfig = field(default_factory=AuthConfig)
    asr: AsrConfig = field(default_factory=AsrConfig)
    dashboard: DashboardConfig = field(default_factory=DashboardConfig)
    qa: QaConfig = field(default_factory=QaConfig)

    @property
    def trail_path(self) -> Path:
        """Host path of the CEL JSON lines Asterisk writes (dialplans/cel_custom.conf)."""
        return self.asterisk.instance_dir / "log" / "cel.jsonl"

    @property
    def secrets_path(self) -> Path:
        """The per-install secrets (mode 0600), written by `ensure_secrets`."""
        return self.state_dir / SECRETS_FILE

    @property
    def recordings_dir(self) -> Path:
        """Host path of Asterisk's recordings.

        In chroot mode `instance_dir` is a symlink into the chroot (see
        `callcenter.asterisk.runtime`), so this path works on the host.
        """
        return self.asterisk.instance_dir / "recordings"


def load(environ: Mapping[str, str] | None = None) -> Config:
    """Build the configuration from `CALLCENTER_*` environment variables."""
    env = os.environ if environ is None else environ
    state = _state_dir(env)
    # The environment wins; the per-install file fills in what it does not set.
    file_secrets = read_secrets(state / SECRETS_FILE)
    env = {**env, **{k: v for k, v in file_secrets.items() if not env.get(k)}}
    contexts = tuple(
        c.strip()
        for c in env.get("CALLCENTER_INBOUND_CONTEXTS", "from-callers,inbound").split(",")
        if c.strip()
    )
    mode = env.get("CALLCENTER_ASTERISK_MODE", "auto")
    if mode not in {"auto", "host", "chroot"}:
        raise ConfigError(f"CALLCENTER_ASTERISK_MODE must be auto, host or chroot, got {mode!r}")
    log_format = env.get("CALLCENTER_LOG_FORMAT", "plain") or "plain"
    if log_format not in LOG_FORMATS:
        raise ConfigError(f"CALLCENTER_LOG_FORMAT must be plain or json, got {log_format!r}")
    min_free_mb = _int(env, "CALLCENTER_MIN_FREE_MB", 1024)
    if min_free_mb < 0:
        raise ConfigError("CALLCENTER_MIN_FREE_MB must not be negative")
    asr_model = env.get("CALLCENTER_ASR_MODEL", "")
    budget_rings = _int(env, "CALLCENTER_RING_BUDGET", 3)
    if budget_rings < 1:
        raise ConfigError("CALLCENTER_RING_BUDGET must be at least 1")
    return Config(
        ami=AmiConfig(
            host=env.get("CALLCENTER_AMI_HOST", "127.0.0.1"),
            port=_int(env, "CALLCENTER_AMI_PORT", 5038),
            username=env.get("CALLCENTER_AMI_USER", "callcenter"),
            secret=_secret(env, "CALLCENTER_AMI_SECRET", DEV_AMI_SECRET),
            ping_interval=_float(env, "CALLCENTER_AMI_PING_INTERVAL", 5.0),
            reconcile_interval=_float(env, "CALLCENTER_AMI_RECONCILE_INTERVAL", 60.0),
        ),
        asterisk=AsteriskConfig(
            mode=mode,
            chroot_dir=Path(env.get("CALLCENTER_ASTERISK_CHROOT", str(state / "asterisk-chroot"))),
            instance_dir=Path(
                env.get("CALLCENTER_ASTERISK_INSTANCE", str(state / "asterisk-instance"))
            ),
            sip_port=_int(env, "CALLCENTER_SIP_PORT", 5060),
            rtp_start=_int(env, "CALLCENTER_RTP_START", 10000),
            rtp_end=_int(env, "CALLCENTER_RTP_END", 10999),
            inbound_number=env.get("CALLCENTER_INBOUND_NUMBER", "600"),
            instance_name=env.get("CALLCENTER_ASTERISK_INSTANCE_NAME", "dev"),
            sip_password=_secret(env, "CALLCENTER_SIP_PASSWORD", DEV_SIP_PASSWORD),
        ),
        ring=RingConfig(
            cadence_seconds=_float(env, "CALLCENTER_RING_CADENCE", 5.0),
            budget_rings=budget_rings,
        ),
        tracker=TrackerConfig(
            inbound_contexts=contexts,
            trail_lookback=_float(env, "CALLCENTER_TRAIL_LOOKBACK_HOURS", 24.0) * 3600.0,
        ),
        database=DatabaseConfig(
            url=env.get("CALLCENTER_DB_URL", f"sqlite+aiosqlite:///{state / 'callcenter.db'}"),
            spool_path=Path(env.get("CALLCENTER_SPOOL", str(state / "call-spool.jsonl"))),
        ),
        web=WebConfig(
            host=env.get("CALLCENTER_WEB_HOST", "127.0.0.1"),
            port=_int(env, "CALLCENTER_WEB_PORT", 8080),
            api_token=_secret(env, "CALLCENTER_API_TOKEN", "") or None,
            tls_proxy=_flag(env, "CALLCENTER_TLS_PROXY", False),
        ),
        state_dir=state,
        ops=OpsConfig(log_format=log_format, min_free_mb=min_free_mb),
        asr_model_path=Path(asr_model).expanduser() if asr_model else None,
        router=_router(env),
        callbacks=_callbacks(env),
        auth=_auth(env),
        asr=_asr(env),
        qa=_qa(env),
        dashboard=DashboardConfig(
            short_abandon_seconds=_float(env, "CALLCENTER_SHORT_ABANDON_SECONDS", 5.0),
            coalesce_seconds=min(0.2, _float(env, "CALLCENTER_DASHBOARD_COALESCE", 0.1)),
            client_queue=max(2, _int(env, "CALLCENTER_DASHBOARD_CLIENT_QUEUE", 64)),
            case_warn_hours=_float(env, "CALLCENTER_CASE_WARN_HOURS", 6.0),
            reconcile_seconds=_float(env, "CALLCENTER_DASHBOARD_RECONCILE", 300.0),
        ),
    )


def _callbacks(env: Mapping[str, str]) -> CallbackConfig:
    import socket

    dial = env.get("CALLCENTER_CALLBACK_DIAL", "PJSIP/{number}")
    if "{number}" not in dial:
        raise ConfigError("CALLCENTER_CALLBACK_DIAL must contain {number}, e.g. PJSIP/{number}")
    return CallbackConfig(
        enabled=env.get("CALLCENTER_CALLBACKS", "on").strip().lower() not in {"off", "0", "no"},
        skill=env.get("CALLCENTER_CALLBACK_SKILL", "outbound") or "outbound",
        caller_id=env.get("CALLCENTER_CALLER_ID", "4008000000"),
        dial=dial,
        ring_seconds=_int(env, "CALLCENTER_CALLBACK_RING", 30),
        agent_ring_seconds=_int(env, "CALLCENTER_CALLBACK_AGENT_RING", 15),
        poll_seconds=_float(env, "CALLCENTER_CALLBACK_POLL", 2.0),
        quiet_hours=env.get("CALLCENTER_QUIET_HOURS", "12:00-14:00,21:00-09:00"),
        timezone=env.get("CALLCENTER_CALLBACK_TIMEZONE", "Asia/Shanghai") or "Asia/Shanghai",
        max_attempts=max(1, _int(env, "CALLCENTER_CALLBACK_MAX_ATTEMPTS", 3)),
        retry_minutes=_float(env, "CALLCENTER_CALLBACK_RETRY_MINUTES", 30.0),
        do_not_call=env.get("CALLCENTER_DO_NOT_CALL", ""),
        instance=env.get("CALLCENTER_INSTANCE", socket.gethostname()) or "callcenter",
        follow_up_share=_share(env, "CALLCENTER_FOLLOW_UP_SHARE"),
    )


def _asr(env: Mapping[str, str]) -> AsrConfig:
    workers = _int(env, "CALLCENTER_ASR_WORKERS", 1)
    if workers < 1:
        raise ConfigError("CALLCENTER_ASR_WORKERS must be at least 1")
    pending = _int(env, "CALLCENTER_ASR_MAX_PENDING", 2)
    if pending < 0:
        raise ConfigError("CALLCENTER_ASR_MAX_PENDING must not be negative")
    phrases = env.get("CALLCENTER_SCRIPT_PHRASES", "")
    return AsrConfig(
        transcribe_all=env.get("CALLCENTER_ASR_ALL", "").strip().lower() in {"1", "on", "yes"},
        workers=workers,
        max_pending=pending,
        poll_seconds=_float(env, "CALLCENTER_ASR_POLL", 30.0),
        language=env.get("CALLCENTER_ASR_LANGUAGE", "zh-CN").strip() or "zh-CN",
        opening_seconds=_float(env, "CALLCENTER_SCRIPT_OPENING_SECONDS", 15.0),
        closing_seconds=_float(env, "CALLCENTER_SCRIPT_CLOSING_SECONDS", 30.0),
        company_names=_tuple(env, "CALLCENTER_COMPANY_NAMES", ()),
        phrases_file=Path(phrases).expanduser() if phrases else None,
    )


def _flag(env: Mapping[str, str], name: str, default: bool) -> bool:
    raw = env.get(name, "").strip().lower()
    if not raw:
        return default
    if raw in {"1", "on", "yes", "true"}:
        return True
    if raw in {"0", "off", "no", "false"}:
        return False
    raise ConfigError(f"{name} must be 1 or 0, got {raw!r}")


def _auth(env: Mapping[str, str]) -> AuthConfig:
    host = env.get("CALLCENTER_WEB_HOST", "127.0.0.1")
    min_length = _int(env, "CALLCENTER_PASSWORD_MIN_LENGTH", 10)
    if min_length < 8:
        raise ConfigError("CALLCENTER_PASSWORD_MIN_LENGTH must be at least 8")
    failures = _int(env, "CALLCENTER_LOGIN_MAX_FAILURES", 5)
    ip_failures = _int(env, "CALLCENTER_LOGIN_IP_MAX_FAILURES", 30)
    if failures < 1 or ip_failures < 1:
        raise ConfigError("CALLCENTER_LOGIN_MAX_FAILURES and _IP_MAX_FAILURES must be at least 1")
    lockout = _float(env, "CALLCENTER_LOGIN_LOCKOUT_SECONDS", 60.0)
    return AuthConfig(
        cookie_secure=_flag(env, "CALLCENTER_COOKIE_SECURE", not is_loopback(host)),
        session_idle=_float(env, "CALLCENTER_SESSION_IDLE_MINUTES", 120.0) * 60.0,
        session_max=_float(env, "CALLCENTER_SESSION_MAX_HOURS", 12.0) * 3600.0,
        password_min_length=min_length,
        login_max_failures=failures,
        login_ip_max_failures=ip_failures,
        login_window=_float(env, "CALLCENTER_LOGIN_WINDOW_MINUTES", 15.0) * 60.0,
        login_lockout=lockout,
        login_max_lockout=max(lockout, 3600.0),
        trust_forwarded_for=_flag(env, "CALLCENTER_TRUST_FORWARDED_FOR", False),
    )


def _share(env: Mapping[str, str], name: str) -> float:
    raw = env.get(name, "") or "0"
    try:
        value = float(raw)
    except ValueError:
        raise ConfigError(f"{name} must be a number between 0 and 1, got {raw!r}") from None
    if not 0.0 <= value <= 1.0:
        raise ConfigError(f"{name} must be between 0 and 1, got {raw!r}")
    return value


def _tuple(environ: Mapping[str, str], name: str, default: tuple[str, ...]) -> tuple[str, ...]:
    raw = environ.get(name)
    if not raw:
        return default
    return tuple(item.strip() for item in raw.split(",") if item.strip())


def _router(env: Mapping[str, str]) -> RouterConfig:
    max_missed = _int(env, "CALLCENTER_MAX_MISSED", 2)
    if max_missed < 1:
        raise ConfigError("CALLCENTER_MAX_MISSED must be at least 1")
    reasons = _tuple(env, "CALLCENTER_PAUSE_REASONS", DEFAULT_PAUSE_REASONS)
    if "missed-calls" not in reasons:
        reasons = (*reasons, "missed-calls")  # the router's own reason must stay valid
    categories = _tuple(env, "CALLCENTER_WRAPUP_CATEGORIES", DEFAULT_CATEGORIES)
    complaint = env.get("CALLCENTER_COMPLAINT_CATEGORY", "投訴")
    if complaint not in categories:
        raise ConfigError(
            f"CALLCENTER_COMPLAINT_CATEGORY {complaint!r} is not one of the wrap-up categories"
        )
    timezone = env.get("CALLCENTER_TIMEZONE", "UTC") or "UTC"
    try:
        from zoneinfo import ZoneInfo

        ZoneInfo(timezone)
    except Exception:
        raise ConfigError(f"CALLCENTER_TIMEZONE {timezone!r} is not a known time zone") from None
    return RouterConfig(
        agi_host=env.get("CALLCENTER_AGI_HOST", "127.0.0.1"),
        agi_port=_int(env, "CALLCENTER_AGI_PORT", 4573),
        agi_key=_secret(env, "CALLCENTER_AGI_KEY", ""),
        skill=env.get("CALLCENTER_INBOUND_SKILL", "support") or "support",
        max_ring_per_agent=_float(env, "CALLCENTER_MAX_RING_PER_AGENT", 10.0),
        min_ring=_float(env, "CALLCENTER_MIN_RING", 2.0),
        wrap_up_seconds=_float(env, "CALLCENTER_WRAPUP_SECONDS", 30.0),
        max_missed=max_missed,
        pause_reasons=reasons,
        categories=categories,
        complaint_category=complaint,
        complaint_reply_hours=_float(env, "CALLCENTER_COMPLAINT_REPLY_HOURS", 48.0),
        shifts=env.get("CALLCENTER_SHIFTS", ""),
        timezone=timezone,
        position_every=max(1, _int(env, "CALLCENTER_POSITION_EVERY", 5)),
        max_dead_air=_float(env, "CALLCENTER_MAX_DEAD_AIR", 3.0),
        staff_prompt=env.get("CALLCENTER_STAFF_PROMPT", "工號{staff_no}"),
        prompt_voice=env.get("CALLCENTER_PROMPT_VOICE", "cmn"),
    )


def _nonnegative(env: Mapping[str, str], name: str, default: float) -> float:
    raw = env.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = float(raw)
    except ValueError:
        raise ConfigError(f"{name} must be a number, got {raw!r}") from None
    if value < 0:
        raise ConfigError(f"{name} must not be negative, got {raw!r}")
    return value


def _qa(env: Mapping[str, str]) -> QaConfig:
    low = _int(env, "CALLCENTER_QA_SAMPLES_MIN", 1)
    high = _int(env, "CALLCENTER_QA_SAMPLES_MAX", 5)
    if not 0 <= low <= high:
        raise ConfigError(
            f"CALLCENTER_QA_SAMPLES_MIN/MAX need 0 <= min <= max, got {low} and {high}"
        )
    targeted = _int(env, "CALLCENTER_QA_TARGETED_MAX", 10)
    retention = _int(env, "CALLCENTER_RECORDING_RETENTION_DAYS", 365)
    if targeted < 0 or retention < 0:
        raise ConfigError(
            "CALLCENTER_QA_TARGETED_MAX and CALLCENTER_RECORDING_RETENTION_DAYS"
            " must not be negative"
        )
    short = _nonnegative(env, "CALLCENTER_QA_SHORT_CALL_SECONDS", 15.0)
    long = _float(env, "CALLCENTER_QA_LONG_CALL_SECONDS", 900.0)
    if long <= short:
        raise ConfigError("CALLCENTER_QA_LONG_CALL_SECONDS must be above the short-call threshold")
    spec = env.get("CALLCENTER_QA_FORM", "").strip()
    if spec and not spec.startswith("{"):
        try:
            spec = Path(spec).expanduser().read_text(encoding="utf-8")
        except OSError as exc:
            raise ConfigError(f"CALLCENTER_QA_FORM: cannot read the form file: {exc}") from None
    below = env.get("CALLCENTER_QA_DEFECT_BELOW", "")
    return QaConfig(
        samples_min=low,
        samples_max=high,
        targeted_max=targeted,
        short_call_seconds=short,
        long_call_seconds=long,
        due_days=_float(env, "CALLCENTER_QA_DUE_DAYS", 7.0),
        lock_days=_nonnegative(env, "CALLCENTER_QA_LOCK_DAYS", 14.0),
        defect_below=_float(env, "CALLCENTER_QA_DEFECT_BELOW", 1.0) if below else None,
        form_spec=spec,
        inspectors=_tuple(env, "CALLCENTER_QA_INSPECTORS", ()),
        retention_days=retention,
        housekeeping_minutes=_float(env, "CALLCENTER_QA_HOUSEKEEPING_MINUTES", 60.0),
    )


# -- per-install secrets ------------------------------------------------------------------


def _secret(env: Mapping[str, str], name: str, default: str) -> str:
    value = env.get(name) or ""
    if not value:
        return default
    if value in (DEV_AMI_SECRET, DEV_SIP_PASSWORD):
        return value  # refused where it matters (serve, render), with a clearer message
    if not _SECRET_CHARS.fullmatch(value):
        raise ConfigError(
            f"{name} must be 8-256 characters of letters, digits and ._~+/=:@%- "
            "(it goes into Asterisk's config and the AGI URL)"
        )
    return value


def read_secrets(path: Path) -> dict[str, str]:
    """The `NAME=value` lines of the secrets file; {} when there is none."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return {}
    except OSError as exc:
        raise ConfigError(f"cannot read the secrets file {path}: {exc.strerror}") from None
    found: dict[str, str] = {}
    for number, line in enumerate(text.splitlines(), 1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        name, sep, value = line.partition("=")
        if not sep or name.strip() not in SECRET_VARIABLES:
            raise ConfigError(
                f"{path}:{number}: expected NAME=value with NAME one of "
                f"{', '.join(SECRET_VARIABLES)}"
            )
        found[name.strip()] = value.strip()
    return found


def generate_secret() -> str:
    """A random secret in the characters every consumer accepts (URL-safe base64)."""
    return _secrets.token_urlsafe(32)


def ensure_state_dir(state_dir: Path) -> Path:
    """The state directory, created 0700 (it holds secrets, the database and recordings)."""
    state_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    with contextlib.suppress(PermissionError):  # not ours: leave it, doctor reports it
        if state_dir.stat().st_mode & 0o077:
            state_dir.chmod(0o700)
    return state_dir


def ensure_secrets(state_dir: Path) -> Path:
    """Create the per-install secrets file (0600) when missing, or add the secrets it lacks.

    Existing values are never changed (Asterisk's rendered config and the CLI use them).
    An `api-token` file from before keeps its token, so scripts that read it still work.
    Written to a private temporary file and renamed, so a reader never sees half a file.
    """
    ensure_state_dir(state_dir)
    path = state_dir / SECRETS_FILE
    current = read_secrets(path)
    missing = [name for name in SECRET_VARIABLES if not current.get(name)]
    if not missing:
        if path.stat().st_mode & 0o077:
            path.chmod(0o600)
        return path
    values = dict(current)
    legacy = state_dir / "api-token"
    for name in missing:
        value = generate_secret()
        if name == "CALLCENTER_API_TOKEN" and legacy.is_file():
            value = legacy.read_text(encoding="utf-8").strip() or value
        values[name] = value
    lines = [
        "# Per-install secrets of this callcenter (mode 0600). Environment variables of",
        "# the same name win. Changing one: edit it, then `callcenter asterisk restart`.",
        *(f"{name}={values[name]}" for name in SECRET_VARIABLES),
    ]
    tmp = path.with_name(f".{SECRETS_FILE}.{os.getpid()}")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as out:
        out.write("\n".join(lines) + "\n")
    os.replace(tmp, path)
    return path


def with_install_secrets(environ: Mapping[str, str] | None = None) -> Config:
    """`load`, after creating the per-install secrets file if it is missing.

    For the commands that run or render the telephony side (`serve`, `asterisk
    start`): a newcomer's first `scripts/run` gets random secrets, not defaults.
    """
    env = os.environ if environ is None else environ
    ensure_secrets(_state_dir(env))
    return load(env)


def dev_secrets_in_use(config: Config) -> list[str]:
    """The settings still at a development default (or missing): what `require_secrets` refuses."""
    found = []
    if config.ami.secret in (DEV_AMI_SECRET, DEV_SIP_PASSWORD):
        found.append("CALLCENTER_AMI_SECRET")
    if config.asterisk.sip_password in (DEV_AMI_SECRET, DEV_SIP_PASSWORD):
        found.append("CALLCENTER_SIP_PASSWORD")
    if not config.router.agi_key:
        found.append("CALLCENTER_AGI_KEY")
    return found


def require_secrets(config: Config, *, what: str) -> None:
    """Refuse to run or render with a development default secret (a ConfigError: exit 2)."""
    weak = dev_secrets_in_use(config)
    if weak:
        raise ConfigError(
            f"{what} refuses the development default or missing {', '.join(weak)}: unset "
            f"the variable to use the per-install value in {config.secrets_path} (made by "
            "`callcenter asterisk start` or `callcenter serve`), or set a random one"
        )
