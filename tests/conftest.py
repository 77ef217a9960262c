"""Shared pytest wiring: fixtures live in tests/support/ plugin modules."""

pytest_plugins = [
    "tests.support.db_fixtures",
    "tests.support.asterisk_fixtures",
    "tests.support.routed",
    "tests.support.browser",
    "tests.support.tools",
]
