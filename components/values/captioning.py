"""Values of the `captioning` chart (subtitle agent + in-cluster speech-to-text) for one stack."""

from __future__ import annotations

from typing import Any

from common.config.model import StackConfig
from common.errors import InputError
from common.images import image_ref
from components.naming import address
from components.sizing import size
from components.values.media import NODE_POOL_LABEL
from components.values.secrets import SecretSet, SecretSpec

LIVEKIT_URL = f"ws://{address('media', 'livekit', 7880)}"

# Languages each supported Kyutai model transcribes; the chart's moshi-server configuration is
# the one of kyutai/stt-1b-en_fr.
KYUTAI_MODELS = {"kyutai/stt-1b-en_fr": {"en", "fr"}}

SECRETS: SecretSet = {
    "livekit-api": {"key": SecretSpec.random(20), "secret": SecretSpec.random(48)},
    # Token the agent presents to the STT server (in-cluster only, but not anonymous).
    "stt-auth": {"api-key": SecretSpec.random(32)},
}


def secrets(stack: StackConfig) -> SecretSet:
    return {name: dict(keys) for name, keys in SECRETS.items()}


def _image(stack: StackConfig, name: str) -> str:
    return image_ref(stack.registry.host, name, stack.registry.digests.get(name))


def model_image(stack: StackConfig) -> str:
    """The model weights, mirrored as an image next to the service images, pinned when a digest is set."""
    cap = stack.captioning
    ref = f"{stack.registry.host}/models/{cap.model.lower()}:{cap.modelVersion}"
    return f"{ref}@{cap.modelDigest}" if cap.modelDigest else ref


def values(stack: StackConfig) -> dict[str, Any]:
    cap = stack.captioning
    if not cap.enabled:
        raise InputError("captioning.enabled: false; the captioning chart is not installed for this stack")
    assert cap.gpuNodePool is not None  # the model requires it when enabled
    if cap.engine == "kyutai":
        supported = KYUTAI_MODELS.get(cap.model)
        if supported is None:
            raise InputError(
                f"captioning.model: {cap.model!r} is not a supported kyutai model "
                f"({', '.join(sorted(KYUTAI_MODELS))})"
            )
        unsupported = [lang for lang in cap.languages if lang not in supported]
        if unsupported:
            raise InputError(
                f"captioning.languages: {', '.join(unsupported)} not transcribed by {cap.model} "
                f"({', '.join(sorted(supported))})"
            )
    sizing = size(stack)
    prod = stack.production
    return {
        "requireDigests": stack.production,
        "images": {
            "agent": _image(stack, "meet-agents"),
            "stt": _image(stack, "kyutai-stt" if cap.engine == "kyutai" else "whisper-stt"),
            "model": model_image(stack),
        },
        "imagePullPolicy": "IfNotPresent",
        "engine": cap.engine,
        "model": cap.model,
        "languages": list(cap.languages),
        "gpuNodePool": {"labelKey": NODE_POOL_LABEL, "name": cap.gpuNodePool},
        "agent": {
            "replicas": 2 if prod else 1,
            "livekitUrl": LIVEKIT_URL,
            "apiSecretName": "livekit-api",
            "agentName": "multi-user-transcriber",
            "healthPort": 8081,
            "resources": {
                "requests": {"cpu": "500m", "memory": "1Gi"},
                "limits": {"cpu": "2", "memory": "2Gi"},
            },
        },
        "stt": {
            "replicas": sizing.stt_replicas,
            "port": 8000,
            "authSecretName": "stt-auth",
            "batchSize": sizing.streams_per_gpu if cap.engine == "kyutai" else 64,
            "resources": {
                "requests": {"cpu": "4", "memory": "16Gi"},
                "limits": {"cpu": "8", "memory": "32Gi"},
            },
        },
    }
