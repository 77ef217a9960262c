"""scrypt password hashes and the password policy."""

from __future__ import annotations

import pytest

from callcenter.accounts import passwords
from callcenter.accounts.passwords import PasswordPolicyError, ScryptParams

# Cheap parameters where the cost itself is not under test.
FAST = ScryptParams(log_n=10)


def test_hash_is_self_describing_and_verifies() -> None:
    encoded = passwords.hash_password("correct horse battery", FAST)
    assert encoded.startswith("$scrypt$ln=10,r=8,p=1$")
    assert passwords.verify_password("correct horse battery", encoded)
    assert not passwords.verify_password("correct horse batterz", encoded)
    assert not passwords.verify_password("", encoded)


def test_default_parameters_are_the_modern_ones() -> None:
    encoded = passwords.hash_password("correct horse battery")
    params, salt, digest = passwords.parse_hash(encoded) or (None, b"", b"")
    assert params == ScryptParams(log_n=15, r=8, p=1, dklen=32)
    assert len(salt) == 16 and len(digest) == 32
    assert passwords.verify_password("correct horse battery", encoded)


def test_salt_makes_equal_passwords_hash_differently() -> None:
    one = passwords.hash_password("same password!", FAST)
    two = passwords.hash_password("same password!", FAST)
    assert one != two
    assert passwords.verify_password("same password!", one)
    assert passwords.verify_password("same password!", two)


def test_known_salt_gives_the_rfc_7914_style_derivation() -> None:
    # The same inputs always give the same key: hashes stay valid across restarts/versions.
    salt = bytes(range(16))
    assert passwords.hash_password("pässwörd", FAST, salt) == passwords.hash_password(
        "pässwörd", FAST, salt
    )


def test_unicode_normalisation_makes_composed_and_decomposed_equal() -> None:
    composed = "caf\u00e9-password"
    decomposed = "cafe\u0301-password"
    encoded = passwords.hash_password(composed, FAST)
    assert passwords.verify_password(decomposed, encoded)


@pytest.mark.parametrize(
    "bad",
    [
        "",
        "plaintext",
        "$bcrypt$ln=10,r=8,p=1$AAAA$AAAA",
        "$scrypt$ln=10,r=8$AAAA$AAAA",
        "$scrypt$ln=40,r=8,p=1$AAAAAAAAAAAAAAAAAAAAAA$AAAA",  # absurd cost: refused, not run
        "$scrypt$ln=10,r=8,p=1$!!!$AAAA",
        "$scrypt$ln=10,r=8,p=1$$",
    ],
)
def test_malformed_hashes_never_match(bad: str) -> None:
    assert passwords.parse_hash(bad) is None
    assert not passwords.verify_password("anything", bad)
    assert passwords.needs_rehash(bad)


def test_rehash_when_parameters_change() -> None:
    old = passwords.hash_password("correct horse battery", FAST)
    assert passwords.needs_rehash(old, ScryptParams(log_n=11))
    assert not passwords.needs_rehash(old, FAST)


def test_too_long_password_is_refused_without_hashing() -> None:
    encoded = passwords.hash_password("x" * passwords.MAX_PASSWORD_CHARS, FAST)
    assert passwords.verify_password("x" * passwords.MAX_PASSWORD_CHARS, encoded)
    assert not passwords.verify_password("x" * (passwords.MAX_PASSWORD_CHARS + 1), encoded)


def test_dummy_hash_is_a_valid_hash_nobody_knows() -> None:
    dummy = passwords.dummy_hash(FAST)
    assert passwords.parse_hash(dummy) is not None
    assert dummy == passwords.dummy_hash(FAST)  # computed once
    assert not passwords.verify_password("", dummy)


@pytest.mark.parametrize(
    ("password", "error_id"),
    [
        ("short", "password-too-short"),
        ("          ", "password-blank"),
        ("Supervisor1", "password-is-username"),
        ("aaaaaaaaaaaa", "password-too-simple"),
        ("x" * (passwords.MAX_PASSWORD_CHARS + 1), "password-too-long"),
    ],
)
def test_policy_refusals_say_which_rule(password: str, error_id: str) -> None:
    with pytest.raises(PasswordPolicyError) as refused:
        passwords.check_policy(password, "supervisor1", min_length=10)
    assert refused.value.error_id == error_id
    assert str(refused.value)  # a message for the person choosing the password


def test_policy_accepts_a_reasonable_password() -> None:
    passwords.check_policy("電話中心-2026-secure", "supervisor1", min_length=10)
