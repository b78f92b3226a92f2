"""From what each front end holds to the engine's Resource; unknown preview values made visible."""

from __future__ import annotations

from pulumi_policy.proxy import UNKNOWN_NUMBER_VALUE, UNKNOWN_STRING_VALUE, unknown_checking_proxy

from policies.engine.adapters import (
    UNKNOWN_TEXT,
    Unknown,
    from_kubernetes,
    from_pulumi,
    kubernetes_type,
    reads_of,
    unknown_paths,
)


def test_kubernetes_type_tokens() -> None:
    assert kubernetes_type("kubernetes:core/v1:Pod") == ("v1", "Pod")
    assert kubernetes_type("kubernetes:apps/v1:Deployment") == ("apps/v1", "Deployment")
    assert kubernetes_type("kubernetes:networking.k8s.io/v1:NetworkPolicy") == ("networking.k8s.io/v1",
                                                                                "NetworkPolicy")
    assert kubernetes_type("pulumi:providers:kubernetes") is None
    assert kubernetes_type("aws:s3/bucket:Bucket") is None


def test_pulumi_kubernetes_resource_is_rebuilt_and_auto_named() -> None:
    r = from_pulumi("kubernetes:core/v1:ConfigMap", "settings", {"metadata": {"namespace": "visio"}, "data": {}},
                    urn="urn:x")
    assert (r.kind, r.api_version, r.name, r.namespace, r.urn) == ("ConfigMap", "v1", "settings", "visio", "urn:x")
    assert r.body["apiVersion"] == "v1" and r.body["kind"] == "ConfigMap"
    assert r.body["metadata"]["name"] == "settings"
    named = from_pulumi("kubernetes:core/v1:ConfigMap", "settings", {"metadata": {"name": "settings-1"}})
    assert named.name == "settings-1" and named.namespace is None


def test_provider_and_cloud_resources_keep_their_inputs() -> None:
    provider = from_pulumi("pulumi:providers:kubernetes", "cluster", {"kubeconfig": "..."})
    assert provider.kind == "kubernetes" and provider.body == {"kubeconfig": "..."}
    bucket = from_pulumi("aws:s3/bucket:Bucket", "recordings", {"region": "eu-west-3"})
    assert (bucket.kind, bucket.pulumi_type, bucket.body["region"]) == ("Bucket", "aws:s3/bucket:Bucket", "eu-west-3")


def test_unknowns_through_the_crossguard_proxy_become_sentinels() -> None:
    props = {
        "metadata": {"name": UNKNOWN_STRING_VALUE, "labels": {"app.kubernetes.io/name": "web"}},
        "spec": {"replicas": UNKNOWN_NUMBER_VALUE,
                 "template": {"spec": {"containers": [{"image": UNKNOWN_STRING_VALUE}]}}},
    }
    r = from_pulumi("kubernetes:apps/v1:Deployment", "web", unknown_checking_proxy(props))
    assert r.name == "web"  # the unknown name falls back to the Pulumi name
    assert unknown_paths(r.body) == ["spec.replicas", "spec.template.spec.containers[0].image"]
    image = r.body["spec"]["template"]["spec"]["containers"][0]["image"]
    assert isinstance(image, Unknown) and image == UNKNOWN_TEXT
    reads = reads_of(r)
    assert reads is not None and reads.paths == {"spec.template.spec.containers[0].image"}
    # Iterating reads too: a rule that walks every value has read every unknown it met.
    list(r.body["spec"].values())
    assert "spec.replicas" in reads.paths


def test_plain_manifest() -> None:
    r = from_kubernetes({"apiVersion": "v1", "kind": "Service", "metadata": {"name": "api", "namespace": "visio"}},
                        "svc.yaml#2")
    assert (r.kind, r.name, r.namespace, r.source) == ("Service", "api", "visio", "svc.yaml#2")
    assert reads_of(r) is None
