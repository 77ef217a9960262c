"""The OpenAPI builder over a route-policy table."""

from __future__ import annotations

from callcenter.kernel.roles import EVERYONE, MANAGERS, Role
from callcenter.kernel.web.access import RoutePolicy
from callcenter.kernel.web.openapi import build, parse_path

POLICIES = [
    RoutePolicy("GET", "/healthz", None, "liveness", tag="ops"),
    RoutePolicy("GET", "/api/calls/{linkedid}", EVERYONE, "one call", tag="ops"),
    RoutePolicy(
        "POST",
        "/api/agents/{staff_no}/{action:login|logout|pause|unpause}",
        EVERYONE,
        "agent actions",
        tag="agents",
    ),
    RoutePolicy("DELETE", "/api/agents/{staff_no}", MANAGERS, "remove", tag="agents"),
    RoutePolicy("GET", "/api/items/{id:\\d{1,6}}", frozenset({Role.QA}), "digits", tag="qa"),
    RoutePolicy("GET", "/dashboard", MANAGERS, "the dashboard", page=True, tag="dashboard"),
    RoutePolicy("POST", "/login", None, "log in", csrf=False, tag="accounts"),
    RoutePolicy("POST", "/logout", None, "log out", tag="accounts"),
]


def test_path_parameters_and_regex_patterns() -> None:
    path, params = parse_path("/api/agents/{staff_no}/{action:login|logout}")
    assert path == "/api/agents/{staff_no}/{action}"
    assert params == [
        {"name": "staff_no", "in": "path", "required": True, "schema": {"type": "string"}},
        {
            "name": "action",
            "in": "path",
            "required": True,
            "schema": {"type": "string", "pattern": "^(?:login|logout)$"},
        },
    ]
    path, params = parse_path("/api/items/{id:\\d{1,6}}")
    assert path == "/api/items/{id}"
    assert params[0]["schema"]["pattern"] == "^(?:\\d{1,6})$"


def test_every_policy_becomes_an_operation() -> None:
    doc = build(POLICIES, title="t", version="1")
    assert doc["openapi"] == "3.1.0"
    operations = {(method.upper(), path) for path, item in doc["paths"].items() for method in item}
    assert operations == {(p.method, parse_path(p.path)[0]) for p in POLICIES}
    ids = [op["operationId"] for item in doc["paths"].values() for op in item.values()]
    assert len(ids) == len(set(ids))


def test_roles_security_and_tags() -> None:
    doc = build(POLICIES, title="t", version="1")
    paths = doc["paths"]
    health = paths["/healthz"]["get"]
    assert health["x-roles"] == ["public"] and health["security"] == []
    remove = paths["/api/agents/{staff_no}"]["delete"]
    assert remove["x-roles"] == ["admin", "supervisor"]
    assert remove["security"] == [{"sessionCookie": [], "csrfToken": []}, {"serviceToken": []}]
    assert set(remove["responses"]) >= {"401", "403"}
    one = paths["/api/calls/{linkedid}"]["get"]
    assert one["security"] == [{"sessionCookie": []}, {"serviceToken": []}]
    assert paths["/api/items/{id}"]["get"]["x-roles"] == ["admin", "qa"]
    assert paths["/dashboard"]["get"]["x-page"] is True
    assert "302" in paths["/dashboard"]["get"]["responses"]
    assert "403" in paths["/logout"]["post"]["responses"]  # CSRF with a session
    assert "403" not in paths["/login"]["post"]["responses"]
    assert {t["name"] for t in doc["tags"]} == {"ops", "agents", "qa", "dashboard", "accounts"}
    schemes = doc["components"]["securitySchemes"]
    assert schemes["sessionCookie"]["in"] == "cookie"
    assert schemes["serviceToken"]["scheme"] == "bearer"


def test_row_ids_are_64_bit_integers_for_the_fuzzer() -> None:
    _, params = parse_path("/api/qa/samples/{sample_id}/assign")
    assert params[0]["schema"] == {
        "type": "integer",
        "format": "int64",
        "minimum": 1,
        "maximum": 2**63 - 1,
    }


def test_unsafe_operations_take_a_json_object_and_the_login_form_its_forms() -> None:
    paths = build(POLICIES, title="t", version="1")["paths"]
    assert "requestBody" not in paths["/api/calls/{linkedid}"]["get"]
    action = paths["/api/agents/{staff_no}/{action}"]["post"]["requestBody"]
    assert action == {
        "required": False,
        "content": {"application/json": {"schema": {"type": "object"}}},
    }
    login = paths["/login"]["post"]["requestBody"]["content"]
    assert set(login) == {
        "application/json",
        "application/x-www-form-urlencoded",
        "multipart/form-data",
    }
