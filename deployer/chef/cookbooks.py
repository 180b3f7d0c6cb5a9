"""Upload cookbook directories to a Chef server through the sandbox protocol.

The steps knife takes: hash every file (md5), ``POST /sandboxes`` with the
checksums, PUT the bytes of each file the server does not already have
(signed, to the path of the URL it returned), commit the sandbox, then PUT the
cookbook version manifest that ties the files to their segments.  Files are
read as bytes, so templates and binary files go up unchanged.

Metadata comes from ``metadata.json`` when present, otherwise from evaluating
``metadata.rb`` with a small Ruby shim (metadata_rb.rb), as knife would.
"""
from __future__ import annotations

import base64
import fnmatch
import hashlib
import json
import shutil
import subprocess
from pathlib import Path
from deployer.chef.errors import ChefNotFound
from deployer.chef.server import ChefServer

METADATA_SHIM = Path(__file__).with_name("metadata_rb.rb")
SEGMENTS = ("recipes", "attributes", "templates", "files", "libraries", "resources",
            "providers", "definitions")
# Segments whose first sub-directory is a host/platform specificity (templates/default/x.erb).
SPECIFIC_SEGMENTS = ("templates", "files")
IGNORED_SUFFIXES = ("~", ".swp", ".swo", ".orig", ".rej")


class CookbookError(Exception):
    """A cookbook directory cannot be uploaded as it is; the message names the file."""


def read_metadata(cookbook_dir: Path) -> dict:
    """The cookbook's metadata as metadata.json would hold it."""
    json_file = cookbook_dir / "metadata.json"
    if json_file.is_file():
        try:
            metadata = json.loads(json_file.read_text())
        except ValueError as exc:
            raise CookbookError(f"{json_file}: not valid JSON: {exc}") from None
    else:
        rb_file = cookbook_dir / "metadata.rb"
        if not rb_file.is_file():
            raise CookbookError(f"{cookbook_dir}: no metadata.rb or metadata.json")
        ruby = shutil.which("ruby")
        if ruby is None:
            raise CookbookError(f"{rb_file}: ruby is needed to read metadata.rb (apt-get install ruby)")
        result = subprocess.run([ruby, str(METADATA_SHIM), str(rb_file)],
                                capture_output=True, text=True, timeout=60)
        if result.returncode != 0:
            raise CookbookError(result.stderr.strip() or f"{rb_file}: evaluation failed")
        metadata = json.loads(result.stdout)
    for field in ("name", "version"):
        if not isinstance(metadata.get(field), str) or not metadata[field]:
            raise CookbookError(f"{cookbook_dir}: metadata field {field!r} is missing")
    return metadata


def _ignore_patterns(cookbook_dir: Path) -> list[str]:
    chefignore = cookbook_dir / "chefignore"
    if not chefignore.is_file():
        return []
    return [line.strip() for line in chefignore.read_text().splitlines()
            if line.strip() and not line.lstrip().startswith("#")]


def _cookbook_files(cookbook_dir: Path) -> list[tuple[str, Path]]:
    """(relative posix path, file) for every file that belongs in the upload."""
    patterns = _ignore_patterns(cookbook_dir)
    files = []
    for path in sorted(cookbook_dir.rglob("*")):
        relative = path.relative_to(cookbook_dir).as_posix()
        parts = relative.split("/")
        if (not path.is_file() or any(part.startswith(".") for part in parts)
                or relative.endswith(IGNORED_SUFFIXES)
                or any(fnmatch.fnmatch(relative, pattern) for pattern in patterns)):
            continue
        if len(parts) == 1 or parts[0] in SEGMENTS:  # other directories (test/, spec/) stay local
            files.append((relative, path))
    return files


def _manifest_entry(relative: str, checksum: str) -> tuple[str, dict]:
    parts = relative.split("/")
    segment = parts[0] if len(parts) > 1 else "root_files"
    specificity = "default"
    if segment in SPECIFIC_SEGMENTS and len(parts) > 2:
        specificity = parts[1]
    return segment, {"name": parts[-1], "path": relative, "checksum": checksum,
                     "specificity": specificity}


def build_manifest(cookbook_dir: Path) -> tuple[dict, dict[str, Path]]:
    """The cookbook version manifest and {md5: file} for the files it references."""
    cookbook_dir = Path(cookbook_dir)
    metadata = read_metadata(cookbook_dir)
    name, version = metadata["name"], metadata["version"]
    manifest = {"name": f"{name}-{version}", "cookbook_name": name, "version": version,
                "json_class": "Chef::CookbookVersion", "chef_type": "cookbook_version",
                "frozen?": False, "metadata": metadata,
                **{segment: [] for segment in (*SEGMENTS, "root_files")}}
    by_checksum: dict[str, Path] = {}
    for relative, path in _cookbook_files(cookbook_dir):
        checksum = hashlib.md5(path.read_bytes()).hexdigest()
        segment, entry = _manifest_entry(relative, checksum)
        manifest[segment].append(entry)
        by_checksum[checksum] = path
    return manifest, by_checksum


def _file_set(manifest: dict) -> set[tuple[str, str]]:
    return {(entry["path"], entry["checksum"])
            for segment in (*SEGMENTS, "root_files") for entry in manifest.get(segment) or []}


def _unchanged(server: ChefServer, manifest: dict) -> bool:
    try:
        stored = server.get_cookbook(manifest["cookbook_name"], manifest["version"])
    except ChefNotFound:
        return False
    stored_metadata = stored.get("metadata") or {}
    return (_file_set(stored) == _file_set(manifest)
            and all(stored_metadata.get(key) == value for key, value in manifest["metadata"].items()))


def upload_cookbook(server: ChefServer, cookbook_dir: Path) -> str:
    """Upload one cookbook; "unchanged" when the server already has these exact files."""
    manifest, by_checksum = build_manifest(Path(cookbook_dir))
    if _unchanged(server, manifest):
        return "unchanged"
    if by_checksum:
        sandbox = server.post("/sandboxes", {"checksums": {checksum: None for checksum in by_checksum}})
        for checksum, state in (sandbox.get("checksums") or {}).items():
            if state.get("needs_upload"):
                content_md5 = base64.b64encode(bytes.fromhex(checksum)).decode()
                server.request_url("PUT", state["url"], data=by_checksum[checksum].read_bytes(),
                                   headers={"Content-Type": "application/x-binary",
                                            "Content-MD5": content_md5})
        server.put(f"/sandboxes/{sandbox['sandbox_id']}", {"is_completed": True})
    server.put(f"/cookbooks/{manifest['cookbook_name']}/{manifest['version']}", manifest)
    return "uploaded"


def find_cookbooks(cookbooks_dir: Path) -> list[Path]:
    """Sub-directories that are cookbooks (have metadata.rb or metadata.json)."""
    return [path for path in sorted(Path(cookbooks_dir).iterdir())
            if path.is_dir() and ((path / "metadata.rb").is_file() or (path / "metadata.json").is_file())]


def upload_all(server: ChefServer, cookbooks_dir: Path) -> dict[str, str]:
    """Upload every cookbook under ``cookbooks_dir``; {name: "uploaded" | "unchanged"}."""
    results = {}
    for path in find_cookbooks(cookbooks_dir):
        results[path.name] = upload_cookbook(server, path)
    return results
