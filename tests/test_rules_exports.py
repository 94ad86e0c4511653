"""Every public name of crmcounters.rules is exported, documented and shown by its public path."""

from __future__ import annotations

import crmcounters
import crmcounters.rules as rules
import crmcounters.testing as testing

REEXPORTED = (
    "CascadeError",
    "Job",
    "Outcome",
    "PendingJobs",
    "Rule",
    "RuleEngine",
    "RuleSet",
    "RuleSetError",
    "TaskStatusChanged",
    "Trigger",
    "dump_rule_set",
    "load_rule_set",
)


def test_rules_all_is_sorted_and_every_class_and_function_has_a_docstring() -> None:
    assert list(rules.__all__) == sorted(rules.__all__, key=lambda n: (not n.isupper(), n))
    for name in rules.__all__:
        obj = getattr(rules, name)
        if isinstance(obj, type) or (callable(obj) and not hasattr(obj, "__args__")):
            assert (obj.__doc__ or "").strip(), name
        if isinstance(obj, type):
            assert obj.__module__ == "crmcounters.rules", name


def test_main_rule_names_are_re_exported_from_the_top_level() -> None:
    for name in REEXPORTED:
        assert name in crmcounters.__all__
        assert getattr(crmcounters, name) is getattr(rules, name)


def test_rule_runtime_is_public_in_testing() -> None:
    assert "RuleRuntime" in testing.__all__
    assert testing.RuleRuntime.__module__ == "crmcounters.testing"
    assert (testing.RuleRuntime.__doc__ or "").strip()
