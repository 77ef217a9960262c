"""Domain errors through the one error middleware: status from the kind, the same JSON body.

The bodies are compared as text: clients (and the pages' scripts) read exactly
`{"error_id", "message", "details"}`, and the statuses are the ones the
handlers' own mappings gave before the middleware did it for them.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path

import pytest
from aiohttp import web
from pytest_aiohttp import AiohttpClient

from callcenter.kernel import errors as kernel_errors
from callcenter.kernel.errors import DomainError, Kind
from callcenter.kernel.web.errors import STATUS, ApiError, http_status, middlewares


class ThingError(DomainError, ValueError):
    not_found_ids = frozenset({"thing-not-found"})
    conflict_ids = frozenset({"thing-busy"})


class KindError(DomainError):
    def __init__(self, kind: Kind, error_id: str, message: str, /, **details: object) -> None:
        super().__init__(error_id, message, **details)
        self.kind = kind


def _app(error: BaseException) -> web.Application:
    async def fail(request: web.Request) -> web.Response:
        raise error

    app = web.Application(middlewares=middlewares())
    app.router.add_get("/fail", fail)
    return app


def _body(error_id: str, message: str, details: dict[str, object]) -> str:
    return json.dumps({"error_id": error_id, "message": message, "details": details})


EXPECTED_STATUS = {
    Kind.INVALID: 400,
    Kind.UNAUTHENTICATED: 401,
    Kind.FORBIDDEN: 403,
    Kind.NOT_FOUND: 404,
    Kind.CONFLICT: 409,
    Kind.GONE: 410,
    Kind.THROTTLED: 429,
    Kind.UPSTREAM_FAILED: 502,
    Kind.UNAVAILABLE: 503,
}


def test_every_kind_has_one_status() -> None:
    assert dict(STATUS) == EXPECTED_STATUS


@pytest.mark.parametrize("kind", list(Kind))
async def test_each_kind_is_answered_with_its_status_and_the_error_shape(
    aiohttp_client: AiohttpClient, kind: Kind
) -> None:
    error = KindError(kind, "some-refusal", "what went wrong", field="number", got=[1, "二"])
    client = await aiohttp_client(_app(error))
    response = await client.get("/fail")
    assert response.status == EXPECTED_STATUS[kind]
    assert response.content_type == "application/json"
    assert await response.text() == _body(
        "some-refusal", "what went wrong", {"field": "number", "got": [1, "二"]}
    )


@pytest.mark.parametrize(
    ("error_id", "status"), [("thing-not-found", 404), ("thing-busy", 409), ("bad-thing", 400)]
)
async def test_a_family_names_its_not_found_and_conflict_ids_once(
    aiohttp_client: AiohttpClient, error_id: str, status: int
) -> None:
    client = await aiohttp_client(_app(ThingError(error_id, f"{error_id}!")))
    response = await client.get("/fail")
    assert response.status == status
    assert await response.text() == _body(error_id, f"{error_id}!", {})


async def test_an_api_error_keeps_its_own_status_and_any_detail_name(
    aiohttp_client: AiohttpClient,
) -> None:
    # Details may be called like the constructor's parameters (reports send `kind`).
    error = ApiError(403, "report-not-allowed", "no", kind="qa", message="m", status=1)
    assert error.kind is Kind.FORBIDDEN and http_status(error) == 403
    client = await aiohttp_client(_app(error))
    response = await client.get("/fail")
    assert response.status == 403
    assert await response.text() == _body(
        "report-not-allowed", "no", {"kind": "qa", "message": "m", "status": 1}
    )


def test_the_message_is_the_exception_text_and_the_family_base_is_kept() -> None:
    error = ThingError("thing-busy", "the thing is busy", thing=3)
    assert str(error) == error.message == "the thing is busy"
    assert isinstance(error, ValueError)
    assert (error.kind, error.details) == (Kind.CONFLICT, {"thing": 3})


@pytest.mark.parametrize(
    "unexpected",
    [RuntimeError("boom"), ValueError("not a domain error"), RecursionError(), LookupError("x")],
)
async def test_an_unexpected_exception_is_a_logged_json_500_without_its_traceback(
    aiohttp_client: AiohttpClient, unexpected: Exception, caplog: pytest.LogCaptureFixture
) -> None:
    client = await aiohttp_client(_app(unexpected))
    with caplog.at_level(logging.ERROR, logger="callcenter.kernel.web.errors"):
        response = await client.get("/fail")
    assert response.status == 500
    text = await response.text()
    assert json.loads(text) == {
        "error_id": "internal-error",
        "message": "an unexpected error happened; it has been logged",
        "details": {},
    }
    assert "Traceback" not in text and type(unexpected).__name__ not in text
    (logged,) = [r for r in caplog.records if r.name == "callcenter.kernel.web.errors"]
    assert logged.exc_info is not None and logged.exc_info[1] is unexpected
    assert "GET /fail" in logged.getMessage()


async def test_an_os_error_of_a_static_file_name_is_a_404(
    aiohttp_client: AiohttpClient, tmp_path: Path
) -> None:
    (tmp_path / "a.css").write_text("body {}")
    app = web.Application(middlewares=middlewares())
    app.router.add_static("/static", tmp_path)
    client = await aiohttp_client(app)
    assert (await client.get("/static/a.css")).status == 200
    response = await client.get("/static/" + "a" * 300 + ".css")
    assert response.status == 404
    assert (await response.json())["error_id"] == "http-404"


async def test_a_nul_in_the_path_query_or_cookie_is_refused_before_the_handler(
    aiohttp_client: AiohttpClient,
) -> None:
    reached: list[str] = []

    async def handler(request: web.Request) -> web.Response:
        reached.append(request.path)
        return web.json_response({})

    app = web.Application(middlewares=middlewares())
    app.router.add_get("/things/{name}", handler)
    client = await aiohttp_client(app)
    for path, where in [("/things/a%00b", "path"), ("/things/a?q=%00", "query")]:
        response = await client.get(path)
        assert response.status == 400, path
        assert await response.json() == {
            "error_id": "bad-text",
            "message": f"the request's {where} holds a NUL character",
            "details": {"in": where},
        }
    assert (await client.get("/things/a?q=1")).status == 200
    assert reached == ["/things/a"]


def test_a_detail_that_is_no_json_value_is_sent_as_text() -> None:
    from callcenter.kernel.web.errors import error_response

    response = error_response("odd", "m", {"raw": b"\x00", "n": 1}, status=400)
    assert response.text == _body("odd", "m", {"raw": "b'\\x00'", "n": 1})


async def test_http_exceptions_still_get_the_error_shape_and_redirects_pass(
    aiohttp_client: AiohttpClient,
) -> None:
    client = await aiohttp_client(_app(web.HTTPFound("/login")))
    moved = await client.get("/fail", allow_redirects=False)
    assert (moved.status, moved.headers["Location"]) == (302, "/login")
    missing = await client.get("/nowhere")
    assert missing.status == 404
    assert await missing.text() == _body("http-404", "Not Found", {})


def test_the_kernel_errors_know_no_web_framework() -> None:
    assert "aiohttp" not in Path(kernel_errors.__file__).read_text()


def _features_errors() -> list[tuple[DomainError, int]]:
    """Each feature's errors with the status its handlers' own mapping gave them."""
    from callcenter.accounts.passwords import PasswordPolicyError
    from callcenter.accounts.service import LoginFailed, LoginThrottled
    from callcenter.accounts.users import AccountError
    from callcenter.agents.domain import AgentError
    from callcenter.callbacks.numbers import CallbackError
    from callcenter.dashboard.supervise import SuperviseError
    from callcenter.panel.click_to_call import ClickToCallError
    from callcenter.qa.errors import QaError
    from callcenter.reports.query import ReportError

    return [
        (AgentError("unknown-agent", "m"), 404),
        *[
            (AgentError(i, "m"), 409)
            for i in ("agent-busy", "agent-exists", "endpoint-taken", "wrap-up-exists")
        ],
        (AgentError("agent-unavailable", "m"), 409),
        (AgentError("agent-logged-out", "m"), 400),
        (AgentError("unknown-pause-reason", "m"), 400),
        (CallbackError("callback-not-found", "m"), 404),
        *[
            (CallbackError(i, "m"), 409)
            for i in ("callback-not-pending", "callback-closed", "callback-conflict")
        ],
        (CallbackError("invalid-number", "m", number="x"), 400),
        (AccountError("user-not-found", "m"), 404),
        *[(AccountError(i, "m"), 409) for i in ("username-taken", "staff-no-taken", "last-admin")],
        (AccountError("bad-password", "m"), 400),
        (PasswordPolicyError("password-too-short", "m"), 400),
        (LoginFailed("login-failed", "m"), 401),
        (LoginFailed("account-disabled", "m"), 401),
        (LoginThrottled(30), 429),
        (QaError(Kind.CONFLICT, "evaluation-locked", "m"), 409),
        (ReportError("unknown-report", "m"), 404),
        (ReportError("bad-date", "m"), 400),
        (SuperviseError("agent-not-on-call", "m"), 409),
        (SuperviseError("unknown-action", "m"), 400),
        (ClickToCallError(Kind.UNAVAILABLE, "asterisk-unavailable", "m"), 503),
        (ClickToCallError(Kind.UPSTREAM_FAILED, "originate-failed", "m"), 502),
    ]


def test_the_features_errors_keep_the_statuses_their_handlers_gave() -> None:
    cases = _features_errors()
    assert [(e.error_id, http_status(e)) for e, _ in cases] == [(e.error_id, s) for e, s in cases]
