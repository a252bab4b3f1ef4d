"""Hostile and extreme input to the serializer: it decodes or raises SerdeError, never crashes,
never runs code a blob names, and never writes what it cannot read back."""

from __future__ import annotations

import dataclasses
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import msgpack
import pytest

from graphkit.checkpoint.memory import InMemorySaver
from graphkit.errors import GraphkitError
from graphkit.stores.checkpoint.base import empty_checkpoint
from graphkit.stores.serde import MAX_DEPTH, SerdeError, Serializer, register

_PLAIN = b"\xc1\x01"


def _nested_ext(levels: int, code: int = 1) -> bytes:
    """``levels`` extension types, each the payload of the next (a tuple in a tuple...)."""
    data = msgpack.packb(1)
    for _ in range(levels):
        data = msgpack.packb(msgpack.ExtType(code, data))
    return _PLAIN + data


def _run(code: str) -> subprocess.CompletedProcess[str]:
    """Run ``code`` in a fresh interpreter: a segfault is a return code, not a dead pytest."""
    return subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)],
        capture_output=True,
        text=True,
        timeout=120,
    )


@dataclasses.dataclass
class Link:
    value: int
    next: Link | None = None


register(Link)


def _chain(length: int) -> Link | None:
    head: Link | None = None
    for i in range(length):
        head = Link(i, head)
    return head


def test_deeply_nested_extension_blobs_are_serde_errors_not_crashes() -> None:
    levels = [MAX_DEPTH + 1, 200, 250, 5000]
    blobs = [_nested_ext(n) for n in levels]
    # one child decodes them all (a process start each would cost more than the test)
    proc = _run(
        f"""
        from graphkit.stores.serde import Serializer, SerdeError
        for levels, blob in zip({levels!r}, {blobs!r}):
            try:
                Serializer().loads(blob)
                print(levels, "decoded")
            except SerdeError as exc:
                print(levels, "SerdeError:", exc, flush=True)
        """
    )
    assert proc.returncode == 0, (
        f"decoder died ({proc.returncode}): {proc.stdout}{proc.stderr[-500:]}"
    )
    lines = proc.stdout.splitlines()
    assert [line.split()[0] for line in lines] == [str(n) for n in levels]
    assert all("SerdeError:" in line and "MAX_DEPTH" in line for line in lines), lines


def test_nested_extensions_within_the_limit_decode() -> None:
    value: Any = 1
    for _ in range(MAX_DEPTH - 1):
        value = (value,)
    s = Serializer()
    assert s.loads(s.dumps(value)) == value


@pytest.mark.parametrize("length", [MAX_DEPTH + 1, 250, 350, 2000])
def test_too_deep_dataclass_chain_is_rejected_at_write_naming_the_depth(length: int) -> None:
    with pytest.raises(SerdeError, match=f"MAX_DEPTH={MAX_DEPTH}") as info:
        Serializer().dumps(_chain(length), where="channel 'history'")
    assert "channel 'history'" in str(info.value)
    assert isinstance(info.value, GraphkitError)


def test_a_dataclass_chain_the_writer_accepts_reads_back() -> None:
    s = Serializer()
    chain = _chain(MAX_DEPTH - 1)
    assert s.loads(s.dumps(chain)) == chain


def test_writer_rejects_a_deep_chain_even_when_the_caller_is_deep_in_the_stack() -> None:
    def recurse(n: int) -> bytes:
        return Serializer().dumps(_chain(MAX_DEPTH - 1)) if n == 0 else recurse(n - 1)

    limit = sys.getrecursionlimit()
    sys.setrecursionlimit(400)
    try:
        with pytest.raises(SerdeError, match="nest"):
            recurse(150)
    finally:
        sys.setrecursionlimit(limit)


def test_saver_refuses_a_too_deep_state_naming_the_channel_and_stores_nothing() -> None:
    saver = InMemorySaver()
    config = {"configurable": {"thread_id": "deep"}}
    ckpt = empty_checkpoint()
    ckpt["channel_values"] = {"history": _chain(250), "ok": 1}
    ckpt["channel_versions"] = {"history": 1, "ok": 1}
    with pytest.raises(SerdeError, match="channel 'history'") as info:
        saver.put(config, ckpt, {}, {"history": 1, "ok": 1})
    assert f"MAX_DEPTH={MAX_DEPTH}" in str(info.value)
    assert saver.get_tuple(config) is None


def test_list_nested_1021_deep_round_trips_and_1100_is_refused_clearly() -> None:
    s = Serializer()
    value: Any = 1
    for _ in range(1021):
        value = [value]
    data = s.dumps(value)
    assert s.dumps(s.loads(data)) == data  # (== on the values would hit Python's own limit)
    for _ in range(80):
        value = [value]
    with pytest.raises(SerdeError, match="1024 levels"):
        s.dumps(value, where="channel 'x'")


# ------------------------------------------------------------- allowed_modules
@pytest.fixture
def myapp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    """A user module that imports dangerous things and defines its own classes."""
    name = "hk_myapp_" + tmp_path.name.replace("-", "_")
    (tmp_path / f"{name}.py").write_text(
        textwrap.dedent(
            """
            import dataclasses, logging, subprocess
            from subprocess import Popen
            from typing import NamedTuple

            @dataclasses.dataclass
            class Good:
                x: int

            class Outer:
                @dataclasses.dataclass
                class Inner:
                    y: int

            class Row(NamedTuple):
                a: int
                b: int
            """
        )
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    return name


def _ext_blob(code: int, payload: Any) -> bytes:
    return _PLAIN + msgpack.packb(msgpack.ExtType(code, msgpack.packb(payload)))


_DATACLASS, _NAMEDTUPLE, _REGISTERED, _ENUM = 15, 16, 17, 11


@pytest.mark.parametrize("path", ["subprocess.Popen", "Popen"])
def test_allowed_module_does_not_reach_classes_it_merely_imports(
    myapp: str, path: str, tmp_path: Path
) -> None:
    marker = tmp_path / "pwned"
    s = Serializer(allowed_modules=[myapp])
    blob = _ext_blob(_NAMEDTUPLE, [f"{myapp}:{path}", [["touch", str(marker)]]])
    with pytest.raises(SerdeError, match="not registered"):
        s.loads(blob)
    assert not marker.exists()


def test_allowed_module_does_not_reach_a_file_handler(myapp: str, tmp_path: Path) -> None:
    victim = tmp_path / "victim.txt"
    victim.write_text("precious")
    s = Serializer(allowed_modules=[myapp])
    blob = _ext_blob(_REGISTERED, [f"{myapp}:logging.FileHandler", {"baseFilename": str(victim)}])
    with pytest.raises(SerdeError, match="not registered"):
        s.loads(blob)
    blob = _ext_blob(_NAMEDTUPLE, [f"{myapp}:logging.FileHandler", [str(victim), "w"]])
    with pytest.raises(SerdeError):
        s.loads(blob)
    assert victim.read_text() == "precious"


def test_allowed_module_resolves_classes_it_defines_including_nested(myapp: str) -> None:
    s = Serializer(allowed_modules=[myapp])
    good = s.loads(_ext_blob(_DATACLASS, [f"{myapp}:Good", {"x": 1}]))
    assert type(good).__name__ == "Good" and good.x == 1
    inner = s.loads(_ext_blob(_DATACLASS, [f"{myapp}:Outer.Inner", {"y": 2}]))
    assert type(inner).__qualname__ == "Outer.Inner" and inner.y == 2
    row = s.loads(_ext_blob(_NAMEDTUPLE, [f"{myapp}:Row", [1, 2]]))
    assert tuple(row) == (1, 2)


def test_modules_outside_the_allowed_list_are_never_imported(myapp: str) -> None:
    s = Serializer(allowed_modules=[myapp])
    blob = _ext_blob(_NAMEDTUPLE, ["subprocess:Popen", [["true"]]])
    with pytest.raises(SerdeError, match="not registered"):
        s.loads(blob)
    prefix_trick = _ext_blob(_DATACLASS, [f"{myapp}_evil:Good", {"x": 1}])
    with pytest.raises(SerdeError, match="not registered"):
        s.loads(prefix_trick)


def test_a_registered_class_is_not_called_under_another_kind() -> None:
    """A blob cannot make a registered dataclass be called as an Enum or a named tuple."""
    s = Serializer()
    name = f"{Link.__module__}:{Link.__qualname__}"
    for code in (_ENUM, _NAMEDTUPLE):
        with pytest.raises(SerdeError, match="not of the kind"):
            s.loads(_ext_blob(code, [name, [1]]))


def test_numpy_object_dtype_blob_is_refused() -> None:
    blob = _ext_blob(12, ["|O", [1], b"\x00" * 8])
    with pytest.raises(SerdeError):
        Serializer().loads(blob)


_PATH, _PATTERN = 20, 21


@pytest.mark.parametrize(
    "code,payload",
    [
        (_PATH, ["subprocess.Popen", "x"]),
        (_PATH, ["PosixPath", 5]),
        (_PATH, ["PosixPath"]),
        (_PATH, "PosixPath"),
        (_PATTERN, ["(unclosed", 0]),
        (_PATTERN, [5, 0]),
        (_PATTERN, ["a", "I"]),
        (_PATTERN, ["a", 1 << 40]),
    ],
)
def test_a_bad_path_or_pattern_record_is_corrupt_data(code: int, payload: Any) -> None:
    with pytest.raises(SerdeError):
        Serializer().loads(_ext_blob(code, payload))


def test_a_path_of_another_system_reads_as_its_pure_flavour() -> None:
    import pathlib

    loaded = Serializer().loads(_ext_blob(_PATH, ["WindowsPath", "C:\\x\\y"]))
    assert type(loaded) is pathlib.PureWindowsPath and loaded.parts == ("C:\\", "x", "y")
    assert type(Serializer().loads(_ext_blob(_PATH, ["PosixPath", "/a"]))) is pathlib.PosixPath


def test_json_plus_allowed_classes_are_those_classes_only(myapp: str) -> None:
    from graphkit.checkpoint.serde.jsonplus import JsonPlusSerializer

    # LangGraph's allowlist names classes, (module, name): the module's others stay out
    serde = JsonPlusSerializer(allowed_msgpack_modules=[(myapp, "Outer", "Inner")])
    inner = _ext_blob(_DATACLASS, [f"{myapp}:Outer.Inner", {"y": 1}])
    good = _ext_blob(_DATACLASS, [f"{myapp}:Good", {"x": 1}])
    assert serde.loads(inner).y == 1
    with pytest.raises(SerdeError, match="not registered"):
        serde.loads(good)
    assert JsonPlusSerializer(allowed_msgpack_modules=[(myapp,)]).loads(good).x == 1


def test_json_plus_allowed_classes_may_be_given_as_classes() -> None:
    from graphkit.checkpoint.serde.jsonplus import JsonPlusSerializer

    @dataclasses.dataclass
    class Mark:
        z: int

    serde = JsonPlusSerializer(allowed_msgpack_modules=[Mark])  # as LangGraph accepts
    assert serde.loads_typed(serde.dumps_typed(Mark(3))) == Mark(3)


# ---------------------------------------------------------- encrypted, typed
class _Named:
    """A cipher that does nothing but name itself ``name``."""

    def __init__(self, name: str) -> None:
        self.name = name

    def encrypt(self, plaintext: bytes) -> tuple[str, bytes]:
        return self.name, plaintext

    def decrypt(self, ciphername: str, ciphertext: bytes) -> bytes:
        if ciphername != self.name:
            raise ValueError(f"not mine: {ciphername!r}")
        return ciphertext


def test_a_cipher_name_too_long_to_store_is_a_serde_error_naming_the_fix() -> None:
    from graphkit.checkpoint.serde.encrypted import EncryptedSerializer

    with pytest.raises(SerdeError, match="256 bytes .* shorter name"):
        EncryptedSerializer(_Named("x" * 256)).dumps({"a": 1})  # was OverflowError
    longest = EncryptedSerializer(_Named("é" * 127))  # 254 bytes of UTF-8
    assert longest.loads(longest.dumps({"a": 1})) == {"a": 1}


@pytest.mark.parametrize(
    "data", [b"\xc1\x02", b"\xc1\x02\xff", b"\xc1\x02\x05ab", b"\xc1\x02\x01\xff\x00"]
)
def test_truncated_or_foreign_ciphertext_is_a_serde_error(data: bytes) -> None:
    from graphkit.checkpoint.serde.encrypted import EncryptedSerializer

    with pytest.raises(SerdeError, match="cannot decrypt"):
        EncryptedSerializer(_Named("n")).loads(data)


@pytest.mark.parametrize(
    "data", [("bytes", "text"), ("msgpack", 5), ("a", "b", "c"), ("null",), "msgpack", None]
)
def test_loads_typed_of_a_malformed_pair_is_a_serde_error(data: Any) -> None:
    with pytest.raises(SerdeError, match=r"\(type, bytes\) pair"):
        Serializer().loads_typed(data)


def test_a_lone_surrogate_is_named_with_its_path_and_the_fix() -> None:
    value = {"a": [1, {"b": "ok"}, ("x", "bad\ud800")]}
    with pytest.raises(SerdeError, match="lone surrogate") as info:
        Serializer().dumps(value, where="channel 'topic'")  # was: 'utf-8' codec can't encode
    message = str(info.value)
    assert "channel 'topic' at ['a'][2][1]" in message and "errors='replace'" in message
    with pytest.raises(SerdeError, match=r"at \['k'\]: the text holds a lone surrogate"):
        Serializer().dumps({"k": "\udcff"})
