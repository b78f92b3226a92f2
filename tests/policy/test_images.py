"""Image references parsed as the runtime does, and registry allow-lists that cannot be tricked."""

from __future__ import annotations

import pytest

from policies.engine.images import ImageRef, ImageRefError, allowed_registries, parse_allowed, parse_image

DIGEST = "sha256:" + "66274e46e282dd7424363bf84c8bed9280873d84a6daea3bacbbdf08749bd6d6"


@pytest.mark.parametrize(
    ("reference", "expected"),
    [
        ("nginx", ImageRef("docker.io", "library/nginx", None, None)),
        ("nginx:1.27", ImageRef("docker.io", "library/nginx", "1.27", None)),
        ("livekit/livekit-server:v1.9.0", ImageRef("docker.io", "livekit/livekit-server", "v1.9.0", None)),
        ("docker.io/nginx", ImageRef("docker.io", "library/nginx", None, None)),
        ("index.docker.io/coturn/coturn", ImageRef("docker.io", "coturn/coturn", None, None)),
        ("localhost/x", ImageRef("localhost", "x", None, None)),
        ("localhost:5000/x:1", ImageRef("localhost:5000", "x", "1", None)),
        ("registry.gouv.fr/visio/meet:v1@" + DIGEST, ImageRef("registry.gouv.fr", "visio/meet", "v1", DIGEST)),
        ("Registry.Gouv.FR/visio/meet", ImageRef("Registry.Gouv.FR", "visio/meet", None, None)),
        # A registry name without a slash is a Docker Hub repository, pinned or not.
        ("registry.gouv.fr@" + DIGEST, ImageRef("docker.io", "library/registry.gouv.fr", None, DIGEST)),
        ("registry.gouv.fr:5000", ImageRef("docker.io", "library/registry.gouv.fr", "5000", None)),
        # An upper-case first component can only be a host.
        ("Visio/meet", ImageRef("Visio", "meet", None, None)),
        ("[fd00::1]:5000/visio/meet", ImageRef("[fd00::1]:5000", "visio/meet", None, None)),
        ("a.b/c__d/e--f/g.h_i", ImageRef("a.b", "c__d/e--f/g.h_i", None, None)),
    ],
)
def test_parse(reference: str, expected: ImageRef) -> None:
    assert parse_image(reference) == expected


@pytest.mark.parametrize(
    "reference",
    [
        "",
        "NGINX",
        "registry.gouv.fr/Visio/meet",
        "registry.gouv.fr/visio/meet@sha256:abc",
        "registry.gouv.fr/visio/meet@" + DIGEST.upper().replace("SHA256", "sha256"),
        "registry.gouv.fr/visio/meet@md5:" + "a" * 32,
        "registry.gouv.fr@evil",
        "registry.gouv.fr./visio/meet",
        "registry.gouv.fr/visio//meet",
        "registry.gouv.fr/visio/meet:",
        "registry.gouv.fr/visio/meet:-tag",
        "registry.gouv.fr/visio/meet:" + "t" * 129,
        "https://registry.gouv.fr/visio/meet",
        "registry.gouv.fr/visio/meet\n",
        "registry.gouv.fr/visio/méet",
        "-registry.gouv.fr/visio/meet",
        "registry.gouv.fr/" + "a" * 250,
        "66274e46e282dd7424363bf84c8bed9280873d84a6daea3bacbbdf08749bd6d6",
    ],
)
def test_refused(reference: str) -> None:
    with pytest.raises(ImageRefError):
        parse_image(reference)


ALLOWED = ("registry.gouv.fr/visio", "LOCALHOST:5000", "mirror.interieur.gouv.fr")


@pytest.mark.parametrize(
    ("reference", "allowed"),
    [
        ("registry.gouv.fr/visio/meet:v1", True),
        ("REGISTRY.GOUV.FR/visio/meet:v1", True),
        ("registry.gouv.fr/visio/sub/meet@" + DIGEST, True),
        ("localhost:5000/anything", True),
        ("mirror.interieur.gouv.fr/any/path", True),
        ("registry.gouv.fr.evil.com/visio/meet", False),
        ("evil.com/registry.gouv.fr/visio/meet", False),
        ("registry.gouv.fr/visiox/meet", False),
        ("registry.gouv.fr/meet", False),
        ("registry.gouv.fr:443/visio/meet", False),
        ("localhost/visio/meet", False),
        ("localhost:5001/anything", False),
        ("registry.gouv.fr@" + DIGEST, False),
        ("visio/meet", False),
        ("sub.mirror.interieur.gouv.fr/x", False),
    ],
)
def test_allowed(reference: str, allowed: bool) -> None:
    ref = parse_image(reference)
    assert any(a.covers(ref) for a in allowed_registries(ALLOWED)) is allowed


def test_docker_hub_allow_entry_normalised() -> None:
    hub = parse_allowed("index.docker.io/library")
    assert hub.covers(parse_image("nginx"))
    assert not hub.covers(parse_image("livekit/livekit-server"))


@pytest.mark.parametrize("entry", ["https://registry.gouv.fr", "registry.gouv.fr/Visio", "", "reg istry.fr"])
def test_bad_allow_entry(entry: str) -> None:
    with pytest.raises(ValueError):
        parse_allowed(entry)
