from __future__ import annotations

import pytest
from pydantic import ValidationError

from gavel.resources.fields import Condition, ObjectMeta


def test_keys_are_camel_case_and_python_names_work_too() -> None:
    c = Condition.model_validate(
        {"type": "Ready", "status": "True", "lastTransitionTime": "2030-01-01T00:00:00Z"}
    )
    assert c.last_transition_time is not None
    assert c.model_dump(mode="json", by_alias=True, exclude_none=True) == {
        "type": "Ready",
        "status": "True",
        "lastTransitionTime": "2030-01-01T00:00:00Z",
    }
    assert Condition(type="Ready", status="False").status == "False"


def test_models_are_frozen_and_ignore_unknown_keys() -> None:
    meta = ObjectMeta.model_validate({"name": "d", "uid": "123", "generation": 4})
    assert (meta.name, meta.generation, meta.annotations) == ("d", 4, {})
    with pytest.raises(ValidationError):
        meta.name = "e"


def test_a_condition_status_is_true_false_or_unknown() -> None:
    with pytest.raises(ValidationError, match="status"):
        Condition.model_validate({"type": "Ready", "status": "yes"})


def test_times_need_a_time_zone() -> None:
    with pytest.raises(ValidationError, match="timezone"):
        ObjectMeta.model_validate({"deletionTimestamp": "2030-01-01T00:00:00"})
