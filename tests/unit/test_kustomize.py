"""tools/kustomize.py: the offline renderer of the Kustomize subset deploy/k8s uses."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.helpers import ROOT, write
from tools.kustomize import KustomizeError, merge, render

K = "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\n"
DEPLOYMENT = """\
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  labels: {app: web}
spec:
  replicas: 2
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      containers:
        - name: web
          image: example/web:1.0
          env: [{name: A, value: "1"}, {name: B, value: "2"}]
"""


def test_the_dev_overlay_renders_every_object_in_its_namespace():
    objects = render(ROOT / "deploy/k8s/overlays/dev")
    kinds = [(r.kind, r.name) for r in objects]
    assert kinds[0] == ("Namespace", "sloctl-dev")
    assert {("Deployment", n) for n in ("orders", "sloctl-server", "postgres")} <= set(kinds)
    assert ("PrometheusRule", "sloctl-orders") in kinds
    for r in objects[1:]:
        assert r.data["metadata"]["namespace"] == "sloctl-dev", r.name
    by_name = {r.name: r.data for r in objects if r.kind == "Deployment"}
    configmaps = {r.name: r.data for r in objects if r.kind == "ConfigMap"}
    assert by_name["orders"]["spec"]["replicas"] == 1  # the overlay's patch
    images = {
        c["image"]
        for name in ("orders", "sloctl-server")
        for c in by_name[name]["spec"]["template"]["spec"]["containers"]
    }
    assert images == {"sloctl/orders:dev", "sloctl/server:dev"}
    assert configmaps["sloctl-server"]["data"]["SLOCTL_SERVER_LOG_LEVEL"] == "DEBUG"
    # The base's labels reach its objects, not the overlay's own PostgreSQL.
    assert by_name["orders"]["metadata"]["labels"]["app.kubernetes.io/part-of"] == "sloctl"
    assert "app.kubernetes.io/part-of" not in by_name["postgres"]["metadata"]["labels"]


def test_patches_merge_maps_and_named_lists(tmp_path: Path):
    write(tmp_path / "base/deployment.yaml", DEPLOYMENT)
    write(tmp_path / "base/kustomization.yaml", K + "resources: [deployment.yaml]\n")
    write(
        tmp_path / "dev/patch.yaml",
        "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: web}\nspec:\n  template:\n"
        "    spec:\n      containers:\n        - name: web\n          env: [{name: B, value: x}]\n",
    )
    write(
        tmp_path / "dev/kustomization.yaml",
        K + "namespace: dev\nresources: [../base]\nimages: [{name: example/web, newTag: '2.0'}]\n"
        "patches: [{path: patch.yaml, target: {kind: Deployment, name: web}}]\n"
        "labels: [{pairs: {env: dev}}]\n",
    )
    [web] = render(tmp_path / "dev")
    container = web.data["spec"]["template"]["spec"]["containers"][0]
    assert container["env"] == [{"name": "A", "value": "1"}, {"name": "B", "value": "x"}]
    assert container["image"] == "example/web:2.0"
    assert web.data["metadata"] == {
        "name": "web",
        "labels": {"app": "web", "env": "dev"},
        "namespace": "dev",
    }
    assert web.data["spec"]["selector"] == {"matchLabels": {"app": "web"}}  # selectors untouched


@pytest.mark.parametrize(
    ("kustomization", "message"),
    [
        ("configMapGenerator: []\n", "configMapGenerator: not supported"),
        ("resources: [missing.yaml]\n", "resources[0]: missing.yaml does not exist"),
        ("labels: [{pairs: {a: b}, includeSelectors: true}]\n", "labels[0]: includeSelectors"),
        ("patches: [{patch: '[]'}]\n", "patches[0]: only path and a target"),
    ],
)
def test_unsupported_or_broken_kustomizations_are_refused(
    tmp_path: Path, kustomization: str, message: str
):
    write(tmp_path / "kustomization.yaml", K + kustomization)
    with pytest.raises(KustomizeError, match=message.replace("[", r"\[").replace("]", r"\]")):
        render(tmp_path)


def test_merge_replaces_unnamed_lists_and_deletes_with_null():
    assert merge({"a": [1, 2], "b": {"c": 1, "d": 2}}, {"a": [3], "b": {"d": None}}) == {
        "a": [3],
        "b": {"c": 1},
    }


@pytest.mark.parametrize(
    ("manifest", "message"),
    [
        ("kind: Deployment\nmetadata: name: web\n", ":2: invalid YAML: mapping values"),
        (
            "kind: Deployment\nmetadata:\n  name: web\n  name: api\n",
            ":4: metadata.name: duplicate key",
        ),
        ("- kind: Deployment\n", ":1: a document is not a mapping"),
    ],
)
def test_broken_yaml_and_repeated_keys_are_one_line_errors(
    tmp_path: Path, manifest: str, message: str
):
    """Plain YAML loaders raise a traceback on the first and keep the last key of the
    second; either would slip past `make lint`'s KustomizeError handling."""
    deployment = write(tmp_path / "deployment.yaml", manifest)
    write(tmp_path / "kustomization.yaml", K + "resources: [deployment.yaml]\n")
    with pytest.raises(KustomizeError) as caught:
        render(tmp_path)
    error = str(caught.value)
    assert error.startswith(f"{deployment}{message}"), error
    assert "\n" not in error


def test_a_missing_patch_file_is_a_one_line_error(tmp_path: Path):
    write(tmp_path / "deployment.yaml", DEPLOYMENT)
    write(
        tmp_path / "kustomization.yaml",
        K + "resources: [deployment.yaml]\n"
        "patches: [{path: gone.yaml, target: {kind: Deployment, name: web}}]\n",
    )
    with pytest.raises(KustomizeError, match=r"gone\.yaml: cannot read: No such file"):
        render(tmp_path)
