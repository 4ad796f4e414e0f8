"""The reference docs are generated from the code, and every example in them runs."""

from __future__ import annotations

from pathlib import Path

import pytest
from learnexport import docgen
from learnexport.cases import run_case

ROOT = Path(__file__).resolve().parents[1]
REFERENCE = ROOT / "docs" / "policy-reference.md"
EXAMPLES = docgen.examples(REFERENCE.read_text("utf-8"))


def test_reference_is_generated_from_the_code() -> None:
    assert REFERENCE.read_text("utf-8") == docgen.render(), (
        "docs/policy-reference.md is stale: run `make docs` (python -m learnexport.docgen)"
    )


def test_every_action_has_examples() -> None:
    from learnexport.actions import REGISTRY

    covered = {example["rule"]["action"] for _, example in EXAMPLES if "rule" in example}
    assert covered == set(REGISTRY)


@pytest.mark.parametrize(("line", "example"), EXAMPLES, ids=[f"line{n}" for n, _ in EXAMPLES])
def test_reference_example_runs(line: int, example: dict) -> None:
    outcome = run_case(example, shown=f"{REFERENCE.name}:{line}")
    assert outcome.passed, "\n".join(outcome.problems)
