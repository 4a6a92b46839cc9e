from __future__ import annotations

import json

import pytest
from kubernetes import client

from gavel.console.hub import Hub, HubUnreachableError, refusal


def test_a_refusal_carries_the_api_servers_own_message_and_causes() -> None:
    exc = client.ApiException(status=422, reason="Unprocessable Entity")
    exc.body = json.dumps(
        {
            "kind": "Status",
            "reason": "Invalid",
            "message": 'Drop.gavel.dev "d" is invalid: spec: Invalid value: "object": '
            "endsAt must be after startsAt",
            "details": {
                "causes": [
                    {"field": "spec", "message": "endsAt must be after startsAt"},
                    {"message": "no field"},
                ]
            },
        }
    )
    r = refusal(exc)
    assert (r.status, r.reason) == (422, "Invalid")
    assert r.message.endswith("endsAt must be after startsAt")
    assert r.causes == ("spec: endsAt must be after startsAt", "no field")


def test_a_refusal_without_a_json_body_keeps_what_there_is() -> None:
    exc = client.ApiException(status=503, reason="Service Unavailable")
    exc.body = "upstream connect error"
    r = refusal(exc)
    assert (r.status, r.reason, r.message, r.causes) == (
        503,
        "Service Unavailable",
        "upstream connect error",
        (),
    )


def test_a_kubeconfig_that_cannot_be_used_is_said_so() -> None:
    with pytest.raises(HubUnreachableError, match="cannot use the kubeconfig /nonexistent"):
        Hub("/nonexistent/kubeconfig")
