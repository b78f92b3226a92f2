"""The stack files as the real Pulumi CLI reads and writes them: each opens with the documented
passphrase, every secure value decrypts and fits the typed configuration, and `pulumi config set
--path` of each value rebuilds the same configuration."""

from __future__ import annotations

import json
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from common.config import stack_names
from common.config.loader import build, split_namespaces
from common.keypath import format_path
from tests.conftest import ROOT
from tests.engine.cli import PulumiCli, pulumi_cli

PASSPHRASE = "visio-example-stacks"  # README: the example stacks' passphrase


@pytest.fixture(scope="module")
def pulumi(tmp_path_factory: pytest.TempPathFactory) -> PulumiCli:
    return pulumi_cli(tmp_path_factory.mktemp("pulumi"), PASSPHRASE)


def _project(root: Path, with_stacks: bool) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    shutil.copy(ROOT / "Pulumi.yaml", root / "Pulumi.yaml")
    (root / "stacks").mkdir(exist_ok=True)
    if with_stacks:
        for name in stack_names():
            shutil.copy(ROOT / "stacks" / f"Pulumi.{name}.yaml", root / "stacks")
    return root


def _leaves(value: Any, path: tuple[str | int, ...] = ()) -> Iterator[tuple[tuple[str | int, ...], Any]]:
    if isinstance(value, dict) and set(value) != {"secure"}:
        for k, v in value.items():
            yield from _leaves(v, (*path, k))
    elif isinstance(value, list):
        for i, v in enumerate(value):
            yield from _leaves(v, (*path, i))
    else:
        yield path, value


def _decrypted(pulumi: PulumiCli, project: Path, stack: str) -> dict[str, Any]:
    shown = json.loads(pulumi.run(project, "config", "--show-secrets", "--json", "--stack", stack).stdout)
    return {key: entry.get("objectValue", entry.get("value")) for key, entry in shown.items()}


@pytest.fixture(scope="module")
def decrypted(pulumi: PulumiCli, tmp_path_factory: pytest.TempPathFactory) -> dict[str, dict[str, Any]]:
    project = _project(tmp_path_factory.mktemp("project"), with_stacks=True)
    out = {}
    for stack in stack_names():
        pulumi.run(project, "stack", "init", stack, "--secrets-provider", "passphrase")
        out[stack] = _decrypted(pulumi, project, stack)
    # Opening a stack must not have rewritten its file (salt, values): the committed file is the stack.
    for stack in stack_names():
        assert (project / "stacks" / f"Pulumi.{stack}.yaml").read_text() == \
            (ROOT / "stacks" / f"Pulumi.{stack}.yaml").read_text()
    return out


@pytest.mark.parametrize("stack", stack_names())
def test_every_secure_value_decrypts_and_the_whole_config_fits_the_model(decrypted, stack: str):
    committed = yaml.safe_load((ROOT / "stacks" / f"Pulumi.{stack}.yaml").read_text())["config"]
    shown = decrypted[stack]
    assert set(shown) == set(committed)
    secure = 0
    for key, value in committed.items():
        for path, leaf in _leaves(value):
            plain = shown[key]
            for part in path:
                plain = plain[part]
            if isinstance(leaf, dict):  # {secure: ciphertext}
                secure += 1
                assert isinstance(plain, str) and plain and plain != leaf["secure"], f"{key}.{format_path(path)}"
            else:
                assert plain == leaf and type(plain) is type(leaf), f"{key}.{format_path(path)}"
    assert secure == sum(isinstance(leaf, dict) for v in committed.values() for _, leaf in _leaves(v))
    # Decrypted, the configuration the engine hands the program still fits the typed model.
    visio, _ = split_namespaces(shown, stack)
    config = build(_as_engine_passes_secrets(visio, committed, stack), stack)
    assert config.ministry == committed["visio:ministry"]


def _as_engine_passes_secrets(visio: dict[str, Any], committed: dict[str, Any], stack: str) -> dict[str, Any]:
    """Secure leaves as the program receives them: the plaintext, marked secret."""
    from common.config.secure import SecureValue

    out = json.loads(json.dumps(visio))
    for key, value in committed.items():
        name = key.split(":", 1)[1]
        for path, leaf in _leaves(value):
            if isinstance(leaf, dict) and path:
                holder = out[name]
                for part in path[:-1]:
                    holder = holder[part]
                holder[path[-1]] = SecureValue(ciphertext=leaf["secure"], plaintext=holder[path[-1]])
    return out


@pytest.mark.parametrize("stack", stack_names())
def test_config_set_path_of_each_value_rebuilds_the_committed_stack(decrypted, stack: str, tmp_path: Path):
    pulumi = pulumi_cli(tmp_path / "pulumi", PASSPHRASE)  # a backend of its own: the stack is new there
    project = _project(tmp_path / "rebuilt", with_stacks=False)
    pulumi.run(project, "stack", "init", stack, "--secrets-provider", "passphrase")
    committed = yaml.safe_load((ROOT / "stacks" / f"Pulumi.{stack}.yaml").read_text())["config"]
    args: list[str] = []
    for key, value in committed.items():
        for path, leaf in _leaves(value):
            plain = decrypted[stack][key]
            for part in path:
                plain = plain[part]
            where = f"{key}{'.' if path and isinstance(path[0], str) else ''}{format_path(path)}"
            flag = "--secret" if isinstance(leaf, dict) else "--plaintext"
            text = plain if isinstance(plain, str) else json.dumps(plain)
            args += [flag, f"{where}={text}"]
    pulumi.run(project, "config", "set-all", "--path", "--stack", stack, *args)
    rebuilt = yaml.safe_load((project / "stacks" / f"Pulumi.{stack}.yaml").read_text())["config"]
    assert _shape(rebuilt) == _shape(committed)
    assert _decrypted(pulumi, project, stack) == decrypted[stack]


def _shape(value: Any) -> Any:
    """The value with ciphertexts (random per encryption) reduced to their marker."""
    if isinstance(value, dict):
        if set(value) == {"secure"}:
            return {"secure": "<ciphertext>"}
        return {k: _shape(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_shape(v) for v in value]
    return value


def test_a_wrong_passphrase_opens_no_stack(pulumi: PulumiCli, tmp_path: Path):
    project = _project(tmp_path / "wrong", with_stacks=True)
    stack = stack_names()[0]
    result = pulumi.run(project, "stack", "init", stack, "--secrets-provider", "passphrase",
                        env={"PULUMI_CONFIG_PASSPHRASE": "not-the-passphrase"}, check=False)
    if result.returncode == 0:
        result = pulumi.run(project, "config", "--show-secrets", "--json", "--stack", stack,
                            env={"PULUMI_CONFIG_PASSPHRASE": "not-the-passphrase"}, check=False)
    assert result.returncode != 0
    assert "passphrase" in (result.stderr + result.stdout).lower()
    assert isinstance(result, subprocess.CompletedProcess)
