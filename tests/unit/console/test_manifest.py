from __future__ import annotations

import pytest

from gavel.console.manifest import ManifestError, namespace_of, parse_drop

GOOD = """\
apiVersion: gavel.dev/v1alpha1
kind: Drop
metadata: {name: watch-1}
spec: {homeRegion: us}
"""


def test_a_drop_is_returned_as_written_spec_untouched() -> None:
    drop = parse_drop(GOOD)
    assert drop["metadata"]["name"] == "watch-1"
    assert drop["spec"] == {"homeRegion": "us"}  # the hub judges the spec, not us


def test_malformed_yaml_names_line_and_column() -> None:
    with pytest.raises(ManifestError) as caught:
        parse_drop("kind: Drop\nspec:\n  a: b: c\n", "drop.yaml")
    assert str(caught.value) == (
        "drop.yaml is not valid YAML: line 3, column 7: mapping values are not allowed here"
    )


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "exactly one Drop, not 0"),
        (GOOD + "---\n" + GOOD, "exactly one Drop, not 2"),
        ("- 1\n- 2\n", "a mapping (a Drop), not list"),
        (GOOD.replace("kind: Drop", "kind: Region"), "kind: 'Region'"),
        (GOOD.replace("gavel.dev/v1alpha1", "v1"), "apiVersion: 'v1'"),
        (GOOD.replace("metadata: {name: watch-1}", "metadata: {}"), "metadata.name is missing"),
        (GOOD.replace("watch-1", "Watch_1"), "must be a DNS label"),
    ],
)
def test_what_is_not_one_named_drop_is_refused_with_why(text: str, message: str) -> None:
    with pytest.raises(ManifestError, match=message.replace("(", r"\(").replace(")", r"\)")):
        parse_drop(text)


def test_the_namespace_is_the_flag_then_the_file_then_default() -> None:
    drop = parse_drop(GOOD)
    assert namespace_of(drop) == "default"
    drop["metadata"]["namespace"] = "merch"
    assert namespace_of(drop) == "merch"
    assert namespace_of(drop, "other") == "other"
