"""Where the tests' files are, from any test package's depth."""

from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]  # the repository
AMI_FIXTURES = ROOT / "tests" / "fixtures" / "ami"  # recorded AMI transcripts
