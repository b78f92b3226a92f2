"""The captioning chart (subtitle agent + in-cluster STT), rendered for every stack that enables it."""

from __future__ import annotations

from functools import cache
from typing import Any

import helm_python
import pytest
import yaml

from common.config import StackConfig, load_stack
from common.errors import InputError
from common.images import IMAGES
from common.paths import chart_path
from components import naming
from components.sizing import size
from components.values import captioning
from tests.charts.rendering import STACKS, by_kind, containers, env_of, rendered, validate_all

Obj = dict[str, Any]


@cache
def config(name: str) -> StackConfig:
    return load_stack(name).config


ENABLED = [n for n in STACKS if config(n).captioning.enabled]
DISABLED = [n for n in STACKS if not config(n).captioning.enabled]


@cache
def objects(name: str) -> tuple[Obj, ...]:
    return tuple(rendered("captioning", captioning.values(config(name)), naming.namespace("captioning")))


def deployment(name: str, which: str) -> Obj:
    return by_kind(list(objects(name)), "Deployment")[f"captioning-{which}"]


def test_example_stacks_cover_both_engines() -> None:
    assert {config(n).captioning.engine for n in ENABLED} == {"kyutai", "whisper"}
    assert DISABLED


@pytest.mark.parametrize("name", DISABLED)
def test_disabled_stack_gets_no_values(name: str) -> None:
    with pytest.raises(InputError, match=r"captioning\.enabled"):
        captioning.values(config(name))


@pytest.mark.parametrize("name", ENABLED)
def test_every_object_is_valid_and_lint_clean(name: str) -> None:
    cfg = config(name)
    objs = list(objects(name))
    validate_all(objs, cfg.cluster.kubernetesVersion)
    assert {"captioning-agent", "captioning-stt"} == set(by_kind(objs, "Deployment"))
    assert set(by_kind(objs, "Service")) == {"captioning-stt"}
    assert len(by_kind(objs, "PodDisruptionBudget")) == 2
    assert not {"Secret", "NetworkPolicy"} & {o["kind"] for o in objs}
    report = helm_python.lint(chart_path("captioning"), captioning.values(cfg), strict=True,
                              kube_version=f"v{cfg.cluster.kubernetesVersion}.0")
    assert not [m for m in report["messages"] if m["severity"] >= 2] and not report["errors"], report


@pytest.mark.parametrize("name", ENABLED)
def test_agent_talks_to_in_cluster_stt_and_livekit_only(name: str) -> None:
    cfg = config(name)
    pod = deployment(name, "agent")["spec"]["template"]["spec"]
    env = env_of(pod["containers"][0])
    assert env["LIVEKIT_URL"]["value"] == "ws://media-livekit.visio-media.svc.cluster.local:7880"
    assert env["LIVEKIT_API_KEY"]["valueFrom"]["secretKeyRef"] == {"name": "livekit-api", "key": "key"}
    assert env["LIVEKIT_API_SECRET"]["valueFrom"]["secretKeyRef"] == {"name": "livekit-api", "key": "secret"}
    stt_host = "ws://captioning-stt.visio-captioning.svc.cluster.local:8000"
    if cfg.captioning.engine == "kyutai":
        assert env["STT_PROVIDER"]["value"] == "kyutai"
        assert env["KYUTAI_STT_BASE_URL"]["value"] == stt_host
    else:
        assert env["STT_PROVIDER"]["value"] == "voxtral-vllm"
        assert env["VOXTRAL_VLLM_BASE_URL"]["value"] == stt_host + "/v1/realtime"
    assert env["SENTRY_DSN"]["value"] == "" and env["HF_HUB_OFFLINE"]["value"] == "1"
    text = yaml.safe_dump_all(list(objects(name))).lower()
    assert "deepgram" not in text and "openai.com" not in text and "huggingface.co" not in text
    assert [p["containerPort"] for p in pod["containers"][0]["ports"]] == [8081]
    assert pod["containers"][0]["readinessProbe"]["httpGet"]["port"] == "health"


@pytest.mark.parametrize("name", ENABLED)
def test_stt_runs_on_the_gpu_pool_with_one_gpu_per_pod(name: str) -> None:
    cfg = config(name)
    dep = deployment(name, "stt")
    pod = dep["spec"]["template"]["spec"]
    assert dep["spec"]["replicas"] == size(cfg).stt_replicas
    assert pod["nodeSelector"] == {"visio.numerique.gouv.fr/node-pool": cfg.captioning.gpuNodePool}
    assert {"key": "nvidia.com/gpu", "operator": "Exists", "effect": "NoSchedule"} in pod["tolerations"]
    stt = pod["containers"][0]
    assert stt["resources"]["limits"]["nvidia.com/gpu"] == 1
    assert stt["resources"]["requests"]["nvidia.com/gpu"] == 1
    env = env_of(stt)
    assert env["HF_HUB_OFFLINE"]["value"] == "1" and env["HF_HUB_CACHE"]["value"] == "/models"
    assert pod["initContainers"][0]["image"].startswith(f"{cfg.registry.host}/models/")
    assert not pod.get("hostNetwork")


@pytest.mark.parametrize("name", ENABLED)
def test_kyutai_config_reads_local_weights(name: str) -> None:
    cms = by_kind(list(objects(name)), "ConfigMap")
    if config(name).captioning.engine != "kyutai":
        assert not cms
        return
    toml = cms["captioning-stt-config"]["data"]["config.toml"]
    assert 'lm_model_file = "/models/model.safetensors"' in toml
    assert "hf://" not in toml and "__API_KEY__" in toml
    assert f"batch_size = {size(config(name)).streams_per_gpu}" in toml


@pytest.mark.parametrize("name", ENABLED)
def test_restricted_pod_security_everywhere(name: str) -> None:
    for which in ("agent", "stt"):
        pod = deployment(name, which)["spec"]["template"]["spec"]
        assert pod["securityContext"]["runAsNonRoot"] is True
        assert pod["securityContext"]["seccompProfile"]["type"] == "RuntimeDefault"
        for c in containers(pod):
            sc = c["securityContext"]
            assert sc["allowPrivilegeEscalation"] is False and sc["capabilities"] == {"drop": ["ALL"]}
            assert sc["readOnlyRootFilesystem"] is True
            assert c["resources"]["requests"] and c["resources"]["limits"]


@pytest.mark.parametrize("name", ENABLED)
def test_images_from_the_stack_registry(name: str) -> None:
    cfg = config(name)
    catalogue = {f"{cfg.registry.host}/{img.repository}:{img.tag}": key for key, img in IMAGES.items()}
    for which in ("agent", "stt"):
        for c in deployment(name, which)["spec"]["template"]["spec"]["containers"]:
            ref, _, digest = c["image"].partition("@")
            assert ref in catalogue, c["image"]
            if cfg.production:
                assert digest == cfg.registry.digests[catalogue[ref]]


def _stack_with(name: str, **captioning_update: Any) -> StackConfig:
    cfg = config(name)
    return cfg.model_copy(update={"captioning": cfg.captioning.model_copy(update=captioning_update)})


def test_kyutai_language_outside_the_model_is_refused() -> None:
    cfg = _stack_with("interieur-prod", languages=["fr", "de"])
    with pytest.raises(InputError, match=r"captioning\.languages: de not transcribed"):
        captioning.values(cfg)


def test_unknown_kyutai_model_is_refused() -> None:
    cfg = _stack_with("interieur-prod", model="kyutai/stt-9b-xx")
    with pytest.raises(InputError, match=r"captioning\.model"):
        captioning.values(cfg)


@pytest.mark.parametrize("name", ENABLED)
def test_model_image_carries_the_stack_version_and_its_digest_in_production(name: str) -> None:
    cfg = config(name)
    cap = cfg.captioning
    (init,) = deployment(name, "stt")["spec"]["template"]["spec"]["initContainers"]
    ref, _, digest = init["image"].partition("@")
    assert ref == f"{cfg.registry.host}/models/{cap.model.lower()}:{cap.modelVersion}"
    assert digest == (cap.modelDigest or "")
    if cfg.production:
        assert digest.startswith("sha256:") and len(digest) == len("sha256:") + 64


def test_model_version_and_digest_come_from_the_stack() -> None:
    digest = "sha256:" + "ab" * 32
    cfg = _stack_with("culture-staging", modelVersion="2025-06", modelDigest=digest)
    image = captioning.values(cfg)["images"]["model"]
    assert image == f"{cfg.registry.host}/models/systran/faster-whisper-large-v3:2025-06@{digest}"
    objs = rendered("captioning", captioning.values(cfg), naming.namespace("captioning"))
    stt = by_kind(objs, "Deployment")["captioning-stt"]["spec"]["template"]["spec"]
    assert stt["initContainers"][0]["image"] == image
