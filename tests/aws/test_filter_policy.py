"""eventinfra's SNS filter-policy rules agree with moto's validator (an oracle of SNS's own)."""

from __future__ import annotations

from typing import Any

import pytest
from moto.sns.exceptions import SNSInvalidParameter
from moto.sns.models import SNSBackend

from eventinfra.aws.validation import filter_policy_problems, filter_rule_problems

POLICIES: list[dict[str, Any]] = [
    {"plan": ["pro", "team"]},
    {"plan": ["pro"], "region": ["eu"], "tier": [1, 2.5], "beta": [True], "x": [None]},
    {"plan": [{"prefix": "p"}, {"suffix": "o"}, {"equals-ignore-case": "PRO"}]},
    {"plan": [{"anything-but": ["free", "trial"]}], "size": [{"exists": True}]},
    {"price": [{"numeric": [">", 0, "<=", 100]}], "n": [{"numeric": ["=", 5]}]},
    {"plan": [{"wildcard": "p*"}]},
    {"size": [{"exists": "yes"}]},
    {"price": [{"numeric": ["<", 5, ">", 1]}]},
    {"price": [{"numeric": [">", 10, "<", 1]}]},
    {"price": [{"numeric": ["~", 5]}]},
    {"price": [{"numeric": [">", "five"]}]},
    {"plan": {"nested": ["x"]}},
    {"a": ["x"], "b": ["x"], "c": ["x"], "d": ["x"], "e": ["x"], "f": ["x"]},
    {"a": list(range(10)), "b": list(range(16))},
]


def moto_accepts(policy: dict[str, Any]) -> bool:
    try:
        SNSBackend._validate_filter_policy(None, policy, scope="MessageAttributes")  # type: ignore[arg-type]
    except SNSInvalidParameter:
        return False
    return True


@pytest.mark.parametrize("policy", POLICIES, ids=[str(p)[:60] for p in POLICIES])
def test_eventinfra_refuses_exactly_what_moto_refuses(policy: dict[str, Any]) -> None:
    ours = filter_policy_problems(policy) + filter_rule_problems(policy)
    assert (not ours) == moto_accepts(policy), ours


def test_a_number_beyond_the_sns_range_is_refused() -> None:
    # moto raises an internal error here rather than a validation error; AWS documents the range.
    assert [f.message for f in filter_rule_problems({"n": [1e9]})] == [
        "expected a number between -1,000,000,000 and 1,000,000,000 (the SNS numeric matching "
        "range), found 1000000000.0."
    ]


def test_a_policy_over_256_kb_is_refused() -> None:
    (finding,) = filter_rule_problems({"plan": ["x" * 300_000]})
    assert finding.message == (
        "expected at most 262144 bytes of JSON (the SNS filter policy limit), found 300014."
    )
