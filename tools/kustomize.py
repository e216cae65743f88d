"""A small offline renderer for the subset of Kustomize that ``deploy/k8s/`` uses.

No kustomize binary installs here from PyPI or Debian (Debian's
``kubernetes-client`` is 1.20, whose built-in kustomize predates ``labels``),
so ``make lint`` and the tests render the overlays with this module. It
supports exactly these Kustomization fields, and refuses any other, so a
manifest that needs more cannot slip through unrendered:

- ``resources``: YAML files and directories holding a ``kustomization.yaml``;
- ``namespace``: set on every namespaced object;
- ``labels`` with ``pairs`` (added to ``metadata.labels``; ``includeSelectors``
  and ``includeTemplates`` must be false or absent);
- ``images``: ``name`` with ``newName`` and/or ``newTag``, in Deployments;
- ``patches`` with ``path`` and a ``target`` of ``kind`` and ``name``, applied as
  strategic merge patches (maps merge, lists of named items merge by ``name``,
  other lists are replaced).

CI renders with the real ``kubectl apply -k`` as well (the kind job), and the
output of this module was compared with ``kubectl kustomize`` (kustomize v5.5)
when it was written: same objects, same fields.
"""

from __future__ import annotations

import copy
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from sloctl.errors import SpecError
from sloctl.spec import yamlsrc

KUSTOMIZATION = "kustomization.yaml"
SUPPORTED = {"apiVersion", "kind", "namespace", "labels", "resources", "images", "patches"}
CLUSTER_SCOPED = {"Namespace", "ClusterRole", "ClusterRoleBinding", "CustomResourceDefinition"}
#: The order kustomize writes kinds in (its legacy ordering), then by name.
KIND_ORDER = [
    "Namespace",
    "CustomResourceDefinition",
    "ServiceAccount",
    "Secret",
    "ConfigMap",
    "Service",
    "Deployment",
    "StatefulSet",
]


class KustomizeError(Exception):
    """A kustomization this renderer cannot render; the message names file and field."""


@dataclass(frozen=True)
class Resource:
    """One rendered object and the file it came from."""

    source: Path
    data: dict[str, Any]

    @property
    def kind(self) -> str:
        return str(self.data.get("kind", ""))

    @property
    def name(self) -> str:
        return str(self.data.get("metadata", {}).get("name", ""))


def load_documents(path: Path) -> Iterator[dict[str, Any]]:
    """The YAML documents of a manifest file (empty ones skipped).

    Parsed as sloctl parses specs, so broken YAML and a repeated key (which plain
    YAML loaders let the last one win) are a one-line error naming file and line.
    """
    try:
        documents = yamlsrc.load_documents(str(path), path.read_text(encoding="utf-8"))
    except OSError as err:
        raise KustomizeError(f"{path}: cannot read: {err.strerror or err}") from err
    except SpecError as err:
        raise KustomizeError(str(err)) from err
    for doc in documents:
        if not isinstance(doc.data, dict):
            raise KustomizeError(f"{path}:{doc.line}: a document is not a mapping")
        yield doc.data


def merge(base: Any, patch: Any) -> Any:
    """A strategic merge patch, for the cases deploy/k8s uses (see the module docstring)."""
    if isinstance(base, dict) and isinstance(patch, dict):
        out = dict(base)
        for key, value in patch.items():
            if value is None:
                out.pop(key, None)
            elif key in out:
                out[key] = merge(out[key], value)
            else:
                out[key] = copy.deepcopy(value)
        return out
    named = (
        isinstance(base, list)
        and isinstance(patch, list)
        and all(isinstance(i, dict) and "name" in i for i in [*base, *patch])
    )
    if named:
        out_list = [dict(i) for i in base]
        index = {i["name"]: n for n, i in enumerate(out_list)}
        for item in patch:
            if item["name"] in index:
                out_list[index[item["name"]]] = merge(out_list[index[item["name"]]], item)
            else:
                out_list.append(copy.deepcopy(item))
        return out_list
    return copy.deepcopy(patch)


def _image(image: str, rules: list[dict[str, Any]]) -> str:
    name, _, tag = image.partition(":")
    for rule in rules:
        if rule.get("name") == name:
            return f"{rule.get('newName', name)}:{rule.get('newTag', tag)}"
    return image


def _containers(data: dict[str, Any]) -> list[dict[str, Any]]:
    spec = data.get("spec", {}).get("template", {}).get("spec", {})
    return [*spec.get("initContainers", []), *spec.get("containers", [])]


def _field(kustomization: Path, field: str, message: str) -> KustomizeError:
    return KustomizeError(f"{kustomization}: {field}: {message}")


def render(directory: Path) -> list[Resource]:
    """The objects the kustomization in ``directory`` produces, in kustomize's order.

    Raises:
        KustomizeError: a missing or unreadable file, invalid YAML, a repeated key, or a
            field outside the supported subset.
    """
    resources = _render(directory.resolve(), ())
    order = {kind: n for n, kind in enumerate(KIND_ORDER)}
    return sorted(resources, key=lambda r: (order.get(r.kind, len(order)), r.kind, r.name))


def _render(directory: Path, seen: tuple[Path, ...]) -> list[Resource]:
    path = directory / KUSTOMIZATION
    if directory in seen:
        raise KustomizeError(f"{path}: resources: cycle through {directory}")
    if not path.is_file():
        raise KustomizeError(f"{path}: no kustomization.yaml in {directory}")
    docs = list(load_documents(path))
    if len(docs) != 1:
        raise KustomizeError(f"{path}: expected one Kustomization document")
    spec = docs[0]
    unknown = sorted(set(spec) - SUPPORTED)
    if unknown:
        raise _field(path, unknown[0], "not supported by tools/kustomize.py (see its docstring)")
    out: list[Resource] = []
    for n, entry in enumerate(spec.get("resources", [])):
        target = (directory / str(entry)).resolve()
        if target.is_dir():
            out.extend(_render(target, (*seen, directory)))
        elif target.is_file():
            out.extend(Resource(target, doc) for doc in load_documents(target))
        else:
            raise _field(path, f"resources[{n}]", f"{entry} does not exist")
    for n, patch in enumerate(spec.get("patches", [])):
        where = f"patches[{n}]"
        if set(patch) - {"path", "target"} or set(patch.get("target", {})) - {"kind", "name"}:
            raise _field(path, where, "only path and a target of kind and name are supported")
        target_spec = patch.get("target", {})
        body = list(load_documents(directory / patch["path"]))
        matched = [
            i
            for i, r in enumerate(out)
            if r.kind == target_spec.get("kind", r.kind) and r.name == target_spec.get("name")
        ]
        if len(body) != 1 or not matched:
            raise _field(path, where, f"{patch['path']} matches no object")
        for i in matched:
            out[i] = Resource(out[i].source, merge(out[i].data, body[0]))
    for n, rule in enumerate(spec.get("images", [])):
        if set(rule) - {"name", "newName", "newTag"}:
            raise _field(path, f"images[{n}]", "only name, newName and newTag are supported")
    for n, label in enumerate(spec.get("labels", [])):
        if label.get("includeSelectors") or label.get("includeTemplates"):
            raise _field(path, f"labels[{n}]", "includeSelectors/includeTemplates not supported")
    images = spec.get("images", [])
    pairs: dict[str, str] = {}
    for label in spec.get("labels", []):
        pairs.update({str(k): str(v) for k, v in label.get("pairs", {}).items()})
    rendered: list[Resource] = []
    for resource in out:
        data = copy.deepcopy(resource.data)
        metadata = data.setdefault("metadata", {})
        if pairs:
            metadata["labels"] = {**metadata.get("labels", {}), **pairs}
        if "namespace" in spec and resource.kind not in CLUSTER_SCOPED:
            metadata["namespace"] = spec["namespace"]
        for container in _containers(data):
            container["image"] = _image(str(container.get("image", "")), images)
        rendered.append(Resource(resource.source, data))
    return rendered


def main(argv: list[str] | None = None) -> int:
    """Print the rendered objects of a kustomization directory as one YAML stream."""
    import sys

    args = sys.argv[1:] if argv is None else argv
    if len(args) != 1:
        print("usage: python -m tools.kustomize DIRECTORY", file=sys.stderr)
        return 2
    try:
        resources = render(Path(args[0]))
    except KustomizeError as err:
        print(f"Error: {err}", file=sys.stderr)
        return 1
    print(yaml.safe_dump_all([r.data for r in resources], sort_keys=False), end="")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
