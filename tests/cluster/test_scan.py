"""`visio scan` against a Kubernetes API server on loopback, through the unmodified client."""

from __future__ import annotations

import json
import socket
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

from policies.engine.catalog import NOT_AUDITED
from tests.cluster.conftest import keys, scan_json
from tests.cluster.fakeapi import FakeCluster
from tests.cluster.state import STACK, image_id, plant_defects, stored
from tests.conftest import run_visio
from visio.cluster.connect import api_client
from visio.cluster.reader import read_cluster
from visio.plan.stackplan import StackPlan


def _not_audited(doc: dict[str, Any]) -> set[tuple[str, int | None]]:
    return {(u["kind"], u["status"]) for u in doc["kinds"]["notAudited"]}


def test_scan_reports_exactly_the_planted_defects_and_the_kinds_it_could_not_read(make_cluster, stack_plan, tmp_path):
    clean = make_cluster(failing={"secrets": 403, "podtemplates": 403})
    defective = make_cluster(failing={"secrets": 403, "podtemplates": 403})
    expected = set(plant_defects(defective, stack_plan))

    code_clean, before, _ = scan_json(clean.write_kubeconfig(tmp_path / "clean"), "--stack", STACK)
    code, after, _ = scan_json(defective.write_kubeconfig(tmp_path / "defective"), "--stack", STACK)

    new = keys(after["findings"]) - keys(before["findings"])
    assert new == expected
    assert keys(before["findings"]) <= keys(after["findings"])
    for doc in (before, after):
        assert _not_audited(doc) == {("Secret", 403), ("PodTemplate", 403)}
        reported = {(f["resource"]["kind"], f["enforcement"]) for f in doc["findings"] if f["rule"] == NOT_AUDITED}
        assert reported == {("Secret", "mandatory"), ("PodTemplate", "mandatory")}  # secnumcloud fails closed
    assert code == 1 and code_clean == 1
    by_key = {k: f for f, k in ((f, next(iter(keys([f])))) for f in after["findings"])}
    cdn = by_key[("endpoint-sovereignty", "Service", "visio-signalling", "cdn-assets", "spec.externalName")]
    assert cdn["evidence"]["jurisdiction"] == "US"
    # Deployment, its ReplicaSet and pod, the node, the Service and the webhook configuration.
    assert after["summary"]["resources"] == before["summary"]["resources"] + 6


def test_clean_cluster_shows_what_the_offline_plan_shows(make_cluster, stack_plan, tmp_path):
    cluster = make_cluster()
    code, doc, _ = scan_json(cluster.write_kubeconfig(tmp_path / "kc"), "--stack", STACK)
    assert doc["kinds"]["notAudited"] == []
    live = keys(doc["findings"]) | keys(doc["exempted"])
    offline = {k for k in keys([f.to_dict() for f in [*stack_plan.report.findings, *stack_plan.report.exempted]])
               if k[1] not in ("Stack", "Secret")}  # the stack's state backend and Secret data are not in a cluster
    assert live == offline
    assert code == (1 if stack_plan.report.mandatory else 0)


def test_pagination_follows_continue_tokens_and_restarts_an_expired_list(make_cluster, tmp_path):
    cluster = make_cluster(max_page=4, expire_next_continue=True)
    api, name = api_client(cluster.write_kubeconfig(tmp_path / "kc"))
    snapshot = read_cluster(api, name, page_size=3)
    served = sum(len(objs) for r, objs in cluster.objects.items() if r.kind in {k.kind for k in snapshot.read})
    assert len(snapshot.objects) == served
    assert snapshot.unaudited == []
    continued = [s for s in cluster.seen if "continue" in s.query]
    assert continued and all(s.query["limit"] == ["3"] for s in continued)
    # Every page the server cut was asked for again with its token: no object read twice.
    names = [(o["kind"], o["metadata"].get("namespace"), o["metadata"]["name"]) for o in snapshot.objects]
    assert len(names) == len(set(names))


def test_secret_data_never_crosses_the_wire_and_nothing_is_written(make_cluster, tmp_path):
    cluster = make_cluster()
    api, name = api_client(cluster.write_kubeconfig(tmp_path / "kc"))
    snapshot = read_cluster(api, name)
    secrets = [o for o in snapshot.objects if o["kind"] == "Secret"]
    assert secrets and all(set(o) == {"apiVersion", "kind", "metadata"} for o in secrets)
    assert cluster.secret_data_served == 0
    asked = [s for s in cluster.seen if s.path.endswith("/secrets")]
    assert asked and all("as=PartialObjectMetadataList" in s.accept for s in asked)
    assert {s.method for s in cluster.seen} == {"GET"}


def test_a_server_that_ignores_the_metadata_request_gets_its_answer_discarded(make_cluster, tmp_path):
    cluster = make_cluster()
    original = cluster._list

    def full_objects(resource, namespace, query, accept):  # type: ignore[no-untyped-def]
        return original(resource, namespace, query, "application/json")

    cluster._list = full_objects  # type: ignore[method-assign]
    api, name = api_client(cluster.write_kubeconfig(tmp_path / "kc"))
    snapshot = read_cluster(api, name)
    assert not [o for o in snapshot.objects if o["kind"] == "Secret"]
    [entry] = [u for u in snapshot.unaudited if u.kind.kind == "Secret"]
    assert "discarded" in entry.reason


def test_the_images_pods_run_are_judged_not_only_their_spec(make_cluster, stack_plan, tmp_path):
    cluster = make_cluster()
    pods = cluster.objects[cluster.resource_for("v1", "Pod")]
    pod = next(p for p in pods if p["metadata"]["name"].startswith("signalling-redis-"))
    # The node pulled something else than the spec names (a mutated pod, a rewriting mirror).
    pod["status"]["containerStatuses"][0]["imageID"] = image_id("docker.io/library/redis:7.4.2")
    code, doc, _ = scan_json(cluster.write_kubeconfig(tmp_path / "kc"), "--stack", STACK)
    found = [f for f in doc["findings"] if f["resource"]["kind"] == "Pod"]
    assert [(f["rule"], f["resource"]["name"], f["path"]) for f in found] == [
        ("image-registry", pod["metadata"]["name"], "status.containerStatuses[0].imageID")]
    assert found[0]["evidence"]["declaredBy"] == "Deployment visio-signalling/signalling-redis"
    assert found[0]["evidence"]["registry"] == "docker.io"
    assert code == 1


def test_unreadable_kinds_fail_closed_only_when_asked(make_cluster, tmp_path):
    cluster = make_cluster(failing={"ingresses": 403, "configmaps": 500})
    kubeconfig = cluster.write_kubeconfig(tmp_path / "kc")
    policy = tmp_path / "policy.yaml"
    policy.write_text("profile: eu-residency\nallowedRegistries: [registry.interieur.gouv.fr/visio]\n"
                      "allowedRegions: [cloudgouv-eu-west-1]\ntrustedDomains: [visio.interieur.gouv.fr]\n"
                      "enforcement: {pod-security: advisory, image-digest: advisory, egress-policy: advisory,\n"
                      "  endpoint-sovereignty: advisory, implicit-endpoint: advisory, tls-required: advisory}\n")
    code, doc, _ = scan_json(kubeconfig, "--policy-config", str(policy))
    assert _not_audited(doc) == {("Ingress", 403), ("ConfigMap", 500)}
    assert {f["enforcement"] for f in doc["findings"] if f["rule"] == NOT_AUDITED} == {"advisory"}
    assert code == 0
    code, doc, _ = scan_json(kubeconfig, "--policy-config", str(policy), "--fail-on-unaudited")
    assert {f["enforcement"] for f in doc["findings"] if f["rule"] == NOT_AUDITED} == {"mandatory"}
    assert code == 1


def test_rejected_credentials_leave_every_kind_not_audited(make_cluster, tmp_path):
    cluster = make_cluster()
    code, doc, _ = scan_json(cluster.write_kubeconfig(tmp_path / "kc", token="wrong"), "--stack", STACK)
    assert code == 1
    assert doc["summary"]["resources"] == 0
    statuses = {u["status"] for u in doc["kinds"]["notAudited"]}
    assert statuses == {401}
    assert {u["kind"] for u in doc["kinds"]["notAudited"]} >= {"Pod", "Deployment", "Node", "Secret"}


def test_cert_manager_issuers_are_read_only_where_the_group_is_served(make_cluster, tmp_path):
    issuer = {"apiVersion": "cert-manager.io/v1", "kind": "ClusterIssuer", "metadata": {"name": "public-acme"},
              "spec": {"acme": {"server": "https://acme-v02.api.letsencrypt.org/directory",
                                "privateKeySecretRef": {"name": "acme-key"}, "solvers": [{"http01": {}}]}}}
    with_crds = make_cluster(cert_manager=True)
    with_crds.add(issuer)
    code, doc, _ = scan_json(with_crds.write_kubeconfig(tmp_path / "a"), "--stack", STACK)
    assert code == 1
    assert ("endpoint-sovereignty", "ClusterIssuer", None, "public-acme", "spec.acme.server") in keys(doc["findings"])
    assert "ClusterIssuer (cert-manager.io/v1)" in doc["kinds"]["read"]
    without = make_cluster(cert_manager=False)
    _, doc, _ = scan_json(without.write_kubeconfig(tmp_path / "b"), "--stack", STACK)
    assert doc["kinds"]["groupsNotServed"] == ["cert-manager.io"]
    assert not [u for u in doc["kinds"]["notAudited"] if u["apiVersion"].startswith("cert-manager")]
    assert not [s for s in without.seen if s.path.startswith("/apis/cert-manager.io")]


def test_namespaces_limit_what_is_read(make_cluster, tmp_path):
    cluster = make_cluster()
    _, doc, _ = scan_json(cluster.write_kubeconfig(tmp_path / "kc"), "--stack", STACK, "-n", "visio-media")
    namespaced = {f["resource"]["namespace"] for f in doc["findings"] + doc["exempted"]} - {None}
    assert namespaced <= {"visio-media"}
    listed = [s.path for s in cluster.seen if s.path.endswith(("/pods", "/configmaps", "/deployments"))]
    assert listed and all("/namespaces/visio-media/" in p for p in listed)
    namespace_findings = [f for f in doc["findings"] if f["resource"]["kind"] == "Namespace"]
    assert all(f["resource"]["name"] == "visio-media" for f in namespace_findings)


def test_reports_in_every_format(make_cluster, tmp_path):
    cluster = make_cluster(failing={"secrets": 403})
    kubeconfig = cluster.write_kubeconfig(tmp_path / "kc")
    for fmt in ("sarif", "junit", "html"):
        out = tmp_path / f"report.{fmt}"
        result = run_visio("scan", "--kubeconfig", str(kubeconfig), "--stack", STACK, "--format", fmt, "-o", str(out))
        assert result.returncode == 1, result.stderr
    for fmt in ("sarif", "html"):
        text = (tmp_path / f"report.{fmt}").read_text()
        assert "Secret" in text and "403" in text
    suite = ET.parse(tmp_path / "report.junit").getroot().find("testsuite")
    assert suite is not None and suite.get("name") == "cluster visio-test"
    sarif = json.loads((tmp_path / "report.sarif").read_text())
    assert any(r["ruleId"] == NOT_AUDITED and r["level"] == "error" for r in sarif["runs"][0]["results"])
    text = run_visio("scan", "--kubeconfig", str(kubeconfig), "--stack", STACK)
    assert "NOT AUDITED" in text.stdout and "Secret (v1)" in text.stdout


def test_unusable_cluster_access_is_one_line_and_exit_2(tmp_path):
    missing = run_visio("scan", "--kubeconfig", str(tmp_path / "nope"))
    assert missing.returncode == 2 and missing.stderr.count("\n") == 1 and "no such kubeconfig" in missing.stderr
    garbage = tmp_path / "garbage"
    garbage.write_text("clusters: 12\n")
    bad = run_visio("scan", "--kubeconfig", str(garbage))
    assert bad.returncode == 2 and bad.stderr.count("\n") == 1 and str(garbage) in bad.stderr
    with socket.socket() as s:  # a port nothing listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    closed = FakeCluster()
    closed._server = None
    kc = tmp_path / "closed"
    kc.write_text(json.dumps({"apiVersion": "v1", "kind": "Config", "current-context": "c",
                              "clusters": [{"name": "c", "cluster": {"server": f"http://127.0.0.1:{port}"}}],
                              "users": [{"name": "u", "user": {"token": "t"}}],
                              "contexts": [{"name": "c", "context": {"cluster": "c", "user": "u"}}]}))
    down = run_visio("scan", "--kubeconfig", str(kc))
    assert down.returncode == 2 and down.stderr.count("\n") == 1 and "cannot reach" in down.stderr
    context = run_visio("scan", "--kubeconfig", str(kc), "--context", "elsewhere")
    assert context.returncode == 2 and "no context named 'elsewhere'" in context.stderr


def test_stored_objects_keep_what_the_stack_set(stack_plan: StackPlan):
    # The fixture itself: server-side defaults never overwrite a field the stack set.
    for obj in stack_plan.objects:
        live = stored(obj)
        assert live["metadata"]["name"] == obj["metadata"]["name"]
        if obj["kind"] == "Deployment" and "replicas" in obj["spec"]:
            assert live["spec"]["replicas"] == obj["spec"]["replicas"]
    assert Path(__file__).parent.joinpath("fakeapi.py").is_file()


def test_progress_counts_every_kind_once_and_shows_only_when_asked(make_cluster, tmp_path):
    from visio.cluster.kinds import KINDS

    cluster = make_cluster(failing={"secrets": 403})
    kubeconfig = cluster.write_kubeconfig(tmp_path / "kc")
    totals: list[int] = []
    steps: list[int] = []

    def progress(total: int):
        totals.append(total)
        return steps.append

    api, name = api_client(kubeconfig)
    read_cluster(api, name, progress=progress)
    # A kind refused (403) or not served still counts: the bar ends where the reading ends.
    assert totals == [len(KINDS)] and sum(steps) == len(KINDS)

    quiet = run_visio("scan", "--kubeconfig", str(kubeconfig), "--format", "json")
    assert quiet.stderr == ""
    asked = run_visio("scan", "--kubeconfig", str(kubeconfig), "--format", "json", env={"VISIO_PROGRESS": "1"})
    assert f"reading kinds: {len(KINDS)}/{len(KINDS)} (100%)" in asked.stderr
    assert asked.stdout == quiet.stdout
