"""Finding the Kubernetes objects to audit: manifest files, directories and Helm charts.

Manifests are YAML (multi-document) or JSON, `kind: List` expanded. A directory is read recursively
for *.yaml, *.yml and *.json; a directory holding Chart.yaml is a Helm chart and is rendered with the
real Helm library instead (its templates are not manifests). Documents are read as the API server
decodes them (a null field is unset, the items of a typed `<Kind>List` take its kind, the fields the
server defaults take their default: see `visio.kube.defaulting`), then every
object must be one Kubernetes would accept (the 1.31 schemas, unknown fields refused). A document
that is not is refused: the audit reports it as a mandatory finding naming the file, the document and
the key path, and judges the rest. Only input that leaves nothing to audit is an InputError.
"""

from __future__ import annotations

import gc
import os
import re
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from common.errors import InputError
from common.jsonsafe import load_json_positioned
from common.keypath import format_path
from common.paths import display
from common.workers import balanced, fork_map, jobs
from common.yamlsafe import Leaves, Position, load_all_positioned, load_one, read_text
from policies.engine.adapters import from_kubernetes
from policies.engine.model import Origin, Refused, Resource, ResourceRef
from visio.audit.isolated import DEFAULT_LIMITS, Limits, render_manifests
from visio.kube import schema

Advance = Callable[[int], None]

KUBERNETES_VERSION = "1.31"
MAX_FILE_BYTES = 20 * 1024 * 1024
SUFFIXES = (".yaml", ".yml", ".json")
# What the API server accepts for a kind (a DNS-1035 label in any case) and an apiVersion's parts.
_KIND = re.compile(r"[A-Za-z](?:[-A-Za-z0-9]{0,61}[A-Za-z0-9])?")
_VERSION = re.compile(r"[a-z](?:[-a-z0-9]{0,61}[a-z0-9])?")
_GROUP = re.compile(r"[a-z0-9](?:[-a-z0-9]*[a-z0-9])?(?:\.[a-z0-9](?:[-a-z0-9]*[a-z0-9])?)*")

@dataclass(frozen=True)
class Found:
    """One object and where it came from (`file#document`, `chart:template`)."""

    obj: dict[str, Any]
    source: str
    origin: Origin


@dataclass(frozen=True)
class Collected:
    """What an audit judges: the usable objects, and the documents that could not be used."""

    resources: list[Resource]
    refused: list[Refused]


class Unusable(InputError):
    """A document or object the API server would refuse: where, the key path, why."""

    def __init__(self, where: str, loc: Sequence[str | int], reason: str) -> None:
        self.key = format_path(tuple(loc))
        super().__init__(f"{where}: {self.key}: {reason}" if self.key else f"{where}: {reason}")


def _shape(obj: Any, where: str, loc: tuple[str | int, ...] = ()) -> None:
    """What every front end relies on before schema validation: kind, apiVersion, metadata."""
    if not isinstance(obj, dict):
        raise Unusable(where, loc, f"expected a Kubernetes object (a mapping), got {_type(obj)}")
    for key in ("apiVersion", "kind"):
        value = obj.get(key)
        if value is None:
            raise Unusable(where, (*loc, key), "required key is missing")
        if not isinstance(value, str) or not value:
            raise Unusable(where, (*loc, key), f"must be a non-empty string, got {_type(value)}")
    if not _KIND.fullmatch(obj["kind"]):
        raise Unusable(where, (*loc, "kind"), "not a Kubernetes kind (letters, digits and '-', at most 63)")
    group, _, version = obj["apiVersion"].rpartition("/")
    if len(group) > 253 or not _VERSION.fullmatch(version) or (group and not _GROUP.fullmatch(group)):
        raise Unusable(where, (*loc, "apiVersion"), "not a Kubernetes apiVersion (`group/version` or `version`)")
    metadata = obj.get("metadata")
    if metadata is not None and not isinstance(metadata, dict):
        raise Unusable(where, (*loc, "metadata"), f"must be a mapping, got {_type(metadata)}")
    for key in ("name", "namespace", "generateName"):
        value = (metadata or {}).get(key)
        if value is not None and not isinstance(value, str):
            raise Unusable(where, (*loc, "metadata", key), f"must be a string, got {_type(value)}")


def _type(value: Any) -> str:
    names = {dict: "a mapping", list: "a list", str: "a string", bool: "a boolean", int: "a number",
             float: "a number", type(None): "null"}
    return names.get(type(value), type(value).__name__)


def _schema(obj: dict[str, Any], where: str, loc: tuple[str | int, ...]) -> dict[str, Any]:
    """The object as the API server stores it (its defaults filled in), once it is one the server accepts."""
    try:
        obj = schema.defaulted(obj, KUBERNETES_VERSION)
        found = schema.errors(obj, KUBERNETES_VERSION)
    except schema.UnknownKind:
        return obj  # custom resources: no schema offline, the rules still see them
    if found:
        path, reason = found[0]
        raise Unusable(where, (*loc, *path), reason.splitlines()[0])
    return obj


def _is_list(doc: dict[str, Any], has_items: bool) -> bool:
    # kubectl's test: `kind: List`, or a typed `<Kind>List` holding `items` (even a null one).
    kind: str = doc["kind"]
    return kind == "List" or (kind.endswith("List") and has_items)


Item = tuple[int, ...]  # where an object sits in a List document: items[i], then nested lists' items[j]...


def objects_of(doc: Any, where: str) -> Iterator[tuple[Item, dict[str, Any] | Unusable]]:
    """(item path, object or why it is unusable) for one document, as the API server decodes it.

    A null field is an unset field (Helm renders `key:` with no value for an unset value); a List is
    expanded, recursively as kubectl does, so no object hides in a list inside a list; the items of a
    typed `<Kind>List` take its apiVersion and kind when they omit them.
    """
    has_items = isinstance(doc, dict) and "items" in doc
    doc = without_nulls(doc)
    _shape(doc, where)
    if not _is_list(doc, has_items):
        yield (), _schema(doc, where, ())
        return
    yield from _items(doc, where, (), ())


def _items(doc: dict[str, Any], where: str, loc: tuple[str | int, ...], within: Item,
           ) -> Iterator[tuple[Item, dict[str, Any] | Unusable]]:
    """The objects of the List at `loc` (item path `within`), each with its own item path."""
    items = doc.get("items", [])
    if not isinstance(items, list):
        raise Unusable(where, (*loc, "items"), f"must be a list, got {_type(items)}")
    implied = {} if doc["kind"] == "List" else {"apiVersion": doc["apiVersion"], "kind": doc["kind"][: -len("List")]}
    for i, item in enumerate(items):
        here, at = (*loc, "items", i), (*within, i)
        if implied and isinstance(item, dict) and not implied.keys() <= item.keys():
            item = {**implied, **item}
        try:
            _shape(item, where, here)
            if _is_list(item, "items" in item):
                yield from _items(item, where, here, at)
                continue
            item = _schema(item, where, here)
        except Unusable as exc:
            yield at, exc
            continue
        yield at, item


def without_nulls(node: Any, depth: int = 0) -> Any:
    """The document with every null mapping value left out; the same object when it holds none.

    Below NULLS_DEPTH the document is left as it is: no Kubernetes field nests that deep, and the
    schema check reports such a document as too deep to validate, naming the field.
    """
    if depth > NULLS_DEPTH:
        return node
    if isinstance(node, dict):
        if not any(v is None or isinstance(v, dict | list) for v in node.values()):
            return node
        cleaned = {k: without_nulls(v, depth + 1) for k, v in node.items() if v is not None}
        same = len(cleaned) == len(node) and all(cleaned[k] is v for k, v in node.items())
        return node if same else cleaned
    if isinstance(node, list):
        items = [without_nulls(v, depth + 1) for v in node]
        return node if all(a is b for a, b in zip(items, node, strict=True)) else items
    return node


NULLS_DEPTH = 100


def _documents(path: Path, source: str, shared: Leaves | None = None) -> list[tuple[Any, Position | None]]:
    text = read_text(path, max_bytes=MAX_FILE_BYTES)
    try:
        if path.suffix == ".json":
            return [load_json_positioned(text, source)]
        return [(doc, at) for doc, at in load_all_positioned(text, source, shared) if doc is not None]
    except RecursionError:
        raise InputError(f"{source}: nesting too deep to be a Kubernetes manifest") from None
    except MemoryError:
        raise InputError(f"{source}: too large to parse") from None


def _ref(doc: Any, item: Item, origin: Origin) -> ResourceRef:
    """The object a refused document names, when it names one; else the document itself."""
    for i in item:
        if isinstance(doc, dict) and isinstance(doc.get("items"), list) and i < len(doc["items"]):
            doc = doc["items"][i]
    if isinstance(doc, dict):
        kind, metadata = doc.get("kind"), doc.get("metadata")
        name = metadata.get("name") if isinstance(metadata, dict) else None
        namespace = metadata.get("namespace") if isinstance(metadata, dict) else None
        if isinstance(kind, str) and kind and isinstance(name, str) and name:
            return ResourceRef(kind, name, namespace if isinstance(namespace, str) and namespace else None)
    return ResourceRef("Document", str(origin))


_NOT_AUDITED = "; not audited"


def _refusal(exc: InputError, doc: Any, item: Item, origin: Origin) -> Refused:
    key = exc.key if isinstance(exc, Unusable) else ""
    return Refused(_ref(doc, item, origin), key, exc.problems[0] + _NOT_AUDITED, origin)


def _read(docs: list[tuple[Any, Position | None]], file: str, where: str) -> Iterator[Found | Refused]:
    """The objects of a file's (or a template's) documents, and the documents refused."""
    several = len(docs) > 1
    for index, (doc, position) in enumerate(docs, start=1):
        origin = Origin(file, index if several else None)
        if position is not None:
            origin = replace(origin, line=position.line, column=position.column)
        here = f"{where}: document {index}" if several else where
        try:
            for item, obj in objects_of(doc, here):
                at = _item_origin(origin, item, position)
                yield _refusal(obj, doc, item, at) if isinstance(obj, Unusable) else Found(obj, str(at), at)
        except Unusable as exc:
            yield _refusal(exc, doc, (), origin)


def _item_origin(origin: Origin, item: Item, position: Position | None) -> Origin:
    if not item:
        return origin
    top, nested = item[0], item[1:]
    if position is not None and top < len(position.items) and not nested:
        line, column = position.items[top]
        return replace(origin, item=top, line=line, column=column)
    return replace(origin, item=top, nested=nested)


def from_file(path: Path, shared: Leaves | None = None) -> list[Found | Refused]:
    source = display(path)
    try:
        docs = _documents(path, source, shared)
    except InputError as exc:
        return [Refused(ResourceRef("Document", source), "", exc.problems[0] + _NOT_AUDITED, Origin(source))]
    return list(_read(docs, source, source))


def _merge(base: dict[str, Any], override: Mapping[str, Any]) -> dict[str, Any]:
    """Helm's values merge: mappings merge key by key, anything else is replaced."""
    out = dict(base)
    for key, value in override.items():
        if isinstance(value, Mapping) and isinstance(out.get(key), dict):
            out[key] = _merge(out[key], value)
        else:
            out[key] = value
    return out


def load_values(files: Sequence[Path]) -> dict[str, Any]:
    values: dict[str, Any] = {}
    for path in files:
        source = display(path)
        doc = load_one(read_text(path, max_bytes=MAX_FILE_BYTES), source)
        if doc is None:
            continue
        if not isinstance(doc, dict):
            raise InputError(f"{source}: a values file is a YAML mapping")
        values = _merge(values, doc)
    return values


def chart_name(path: Path) -> str:
    source = display(path / "Chart.yaml")
    doc = load_one(read_text(path / "Chart.yaml", max_bytes=1024 * 1024), source)
    name = doc.get("name") if isinstance(doc, dict) else None
    if not isinstance(name, str) or not name:
        raise InputError(f"{source}: name: required key is missing")
    return name


def from_chart(path: Path, values: dict[str, Any], limits: Limits = DEFAULT_LIMITS) -> list[Found | Refused]:
    from visio.kube.charts import positioned_objects  # the Helm library loads only when a chart is audited

    name = chart_name(path)
    source = display(path)
    by_template: dict[str, list[tuple[Any, Position | None]]] = {}
    # A chart to audit is someone else's code: it renders in a child process, within limits.
    manifests = render_manifests(path, values, release=name, namespace="default", limits=limits)
    for template, doc, position in positioned_objects(path, manifests):
        by_template.setdefault(template, []).append((doc, position))
    read: list[Found | Refused] = []
    for template, docs in by_template.items():
        # Template names start with the chart's name; the file is under the chart's directory. Lines
        # and columns are those of the template as rendered (what `helm template` prints), marked so.
        file = f"{source}/{template.split('/', 1)[1]}" if "/" in template else source
        for item in _read(docs, file, f"{source}: {template}"):
            if isinstance(item, Found):
                shown = str(item.origin).removeprefix(file)
                item = Found(item.obj, f"chart {name}: {template}{shown}", replace(item.origin, rendered=True))
            elif item.origin is not None:
                item = replace(item, origin=replace(item.origin, rendered=True))
            read.append(item)
    return read


def _walk(directory: Path) -> Iterator[Path]:
    """Charts (directories with Chart.yaml) and manifest files under a directory, sorted.

    Hidden directories are read like any other (`kubectl apply -R` applies them). A symbolic link
    leading out of the directory is unusable input; one that stays inside is skipped when it names a
    directory (its target is read where it is) and read when it names a file.
    """
    if (directory / "Chart.yaml").is_file():
        yield directory
        return
    top = directory.resolve()
    problems: list[str] = []
    found: list[Path] = []
    for root, dirs, files in os.walk(directory, followlinks=False):
        here = Path(root)
        for name in sorted([*dirs, *files]):
            if (here / name).is_symlink() and not _inside(here / name, top):
                link = Path(display(here)) / name
                problems.append(f"{link}: symbolic link to outside {display(directory)}, not read")
        dirs[:] = sorted(d for d in dirs if not (here / d).is_symlink())
        charts = [d for d in dirs if (here / d / "Chart.yaml").is_file()]
        dirs[:] = [d for d in dirs if d not in charts]
        found += [here / d for d in charts]
        found += [here / f for f in sorted(files) if f.endswith(SUFFIXES) and _inside(here / f, top)]
    if problems:
        raise InputError(*problems)
    yield from found


def _inside(path: Path, top: Path) -> bool:
    try:
        return path.resolve().is_relative_to(top)
    except (OSError, RuntimeError):  # a loop of links
        return False


def collect(
    paths: Sequence[Path],
    values_files: Sequence[Path] = (),
    limits: Limits = DEFAULT_LIMITS,
    progress: Callable[[int], Advance] | None = None,
) -> Collected:
    """Every object under the given paths, as engine resources, and the documents refused.

    `progress(total)`, once the files and charts are listed, gives the callback told of each n read.

    InputError when nothing is left to audit: a missing path, a chart that does not render, or only
    unusable documents.
    """
    # Parsing builds millions of acyclic objects that all stay alive; the cycle collector would
    # rescan them again and again as the heap grows, for nothing to free.
    paused = gc.isenabled()
    gc.disable()
    try:
        return _collect(paths, values_files, limits, progress)
    finally:
        if paused:
            gc.enable()


# Below this many bytes of manifests, forking children costs more than the parsing it spreads.
PARALLEL_BYTES = 1024 * 1024


def _size(path: Path) -> int:
    try:
        return path.stat().st_size
    except OSError:
        return 0


# Several shares a process: the parent takes back the ones no child has started (a share of big
# files does not leave a core idle), and progress moves in steps a person can follow.
SHARES_PER_PROCESS = 8


def _read_files(files: Sequence[Path], advance: Advance | None) -> list[list[Found | Refused]]:
    """`from_file` of each file, in order; over every core when there is enough to read."""
    sizes = [_size(f) for f in files]
    large = sum(sizes) >= PARALLEL_BYTES
    processes = jobs() if large else 1
    parts = balanced(sizes, SHARES_PER_PROCESS * processes if large else 1)

    def read(part: int) -> list[list[Found | Refused]]:
        # The engine only reads what it is given, so equal leaf mappings across files can be one
        # object: a large estate repeats its labels, env entries and resource requests thousands of times.
        shared: Leaves = {}
        return [from_file(files[i], shared) for i in parts[part]]

    def done(part: int) -> None:
        if advance is not None:
            advance(len(parts[part]))

    return [one for share in fork_map(read, len(parts), processes, done) for one in share]


def _collect(
    paths: Sequence[Path], values_files: Sequence[Path], limits: Limits, progress: Callable[[int], Advance] | None
) -> Collected:
    values = load_values(values_files)
    problems: list[str] = []
    targets: list[Path] = []
    for path in paths:
        if not path.exists():
            problems.append(f"{display(path)}: no such file or directory")
            continue
        try:
            targets.extend(_walk(path) if path.is_dir() else [path])
        except InputError as exc:
            problems.extend(exc.problems)
    files = [t for t in targets if not t.is_dir()]
    advance = progress(len(targets)) if progress is not None else None
    by_file = dict(zip(files, _read_files(files, advance), strict=True))
    read: list[Found | Refused] = []
    for target in targets:
        if target in by_file:
            read.extend(by_file[target])
            continue
        try:
            read.extend(from_chart(target, values, limits))
        except InputError as exc:
            problems.extend(exc.problems)
        if advance is not None:
            advance(1)
    found = [f for f in read if isinstance(f, Found)]
    refused = [r for r in read if isinstance(r, Refused)]
    if problems:
        raise InputError(*problems)
    if not found and refused:
        # Nothing usable at all: the input itself is wrong, as one line per document.
        raise InputError(*(r.message.removesuffix(_NOT_AUDITED) for r in refused))
    return Collected([from_kubernetes(f.obj, f.source, f.origin) for f in found], refused)
