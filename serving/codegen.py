"""Generate the Python gRPC code in serving/_proto from protos/ with grpcio-tools.

Run `python -m serving.codegen` after editing a .proto (`make install` runs it too); a test
regenerates into a temporary folder and fails when the committed code differs.
"""

from __future__ import annotations

import sys
from importlib import resources
from pathlib import Path

from grpc_tools import protoc

ROOT = Path(__file__).resolve().parents[1]
PROTO_DIR = ROOT / "protos"
PACKAGE_PREFIX = "serving/_proto"  # generated imports read `from serving._proto.recsys.v1 ...`


def proto_files() -> list[Path]:
    """Every .proto under protos/, sorted."""
    return sorted(PROTO_DIR.rglob("*.proto"))


def generate(out_root: Path = ROOT) -> list[Path]:
    """Write *_pb2.py, *_pb2.pyi and *_pb2_grpc.py under out_root/serving/_proto."""
    well_known = resources.files("grpc_tools") / "_proto"
    files = [f"{PACKAGE_PREFIX}/{p.relative_to(PROTO_DIR).as_posix()}" for p in proto_files()]
    args = [
        "grpc_tools.protoc",
        f"-I{PACKAGE_PREFIX}={PROTO_DIR}",
        f"-I{well_known}",
        f"--python_out={out_root}",
        f"--pyi_out={out_root}",
        f"--grpc_python_out={out_root}",
        *files,
    ]
    if protoc.main(args) != 0:
        raise RuntimeError(f"protoc failed for {files}")
    out = out_root / PACKAGE_PREFIX
    for folder in [out, *(d for d in out.rglob("*") if d.is_dir())]:
        init = folder / "__init__.py"
        if not init.exists():
            init.write_text("")
    return sorted(p for p in out.rglob("*_pb2*.py*"))


if __name__ == "__main__":
    written = generate()
    print("\n".join(str(p.relative_to(ROOT)) for p in written), file=sys.stderr)
