"""Lakes in an object store: `--lake s3://bucket/prefix` (AWS S3 or any S3-compatible store with conditional writes).

The store holds the lake; this machine holds a cache of it. Delta tables are read and committed on the store by
delta-rs: a commit is a conditional put of the next log entry (`If-None-Match`), so writers on different hosts need
no shared filesystem and no lock, and a lost race is a Delta conflict like on a local lake. Every other lake file
(shards, indexes, reports) is written locally, uploaded under its unique name before the commit that names it, and
never rewritten. Readers download the files a committed version names into the cache the first time they need them
(each is immutable, and checked against its recorded size or checksum), so DuckDB, numpy's memory maps and FAISS
read local files as they do on a local lake.

Credentials and the endpoint come from the environment only: `AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY`,
`AWS_SESSION_TOKEN`, `AWS_REGION` (or `AWS_DEFAULT_REGION`), `AWS_ENDPOINT_URL` for a non-AWS store;
`EMOLAKE_CACHE` moves the cache (default `~/.cache/emolake/lakes`).
"""

from __future__ import annotations

import hashlib
import os
import re
import uuid
from dataclasses import dataclass, field
from pathlib import Path

from etl.errors import EmolakeError

URI = re.compile(r"^s3:/+(?P<bucket>[a-z0-9][a-z0-9.-]{1,61}[a-z0-9])(?:/(?P<prefix>.*))?$")
"""`s3://bucket/prefix`; one slash is accepted too, because `Path("s3://b/p")` keeps only one."""
CACHE_ENV = "EMOLAKE_CACHE"


@dataclass(frozen=True)
class Remote:
    """One lake in an object store, and the local directory that caches it."""

    uri: str
    """`s3://bucket/prefix`, no trailing slash."""
    bucket: str
    prefix: str
    cache: Path
    _fs: list = field(default_factory=list, compare=False, repr=False)

    def table_uri(self, dataset: str) -> str:
        return f"{self.uri}/{dataset}"

    def key(self, rel: str) -> str:
        """The object key (with its bucket, as pyarrow names it) of a lake-relative path."""
        return "/".join(part for part in (self.bucket, self.prefix, rel) if part)

    def storage_options(self) -> dict[str, str]:
        """delta-rs's options: the environment's credentials and endpoint, and conditional puts for commits."""
        options = {"conditional_put": "etag"}
        for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_ENDPOINT_URL"):
            if os.environ.get(name):
                options[name] = os.environ[name]
        region = os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION")
        if region:
            options["AWS_REGION"] = region
        if options.get("AWS_ENDPOINT_URL", "").startswith("http://"):
            options["AWS_ALLOW_HTTP"] = "true"
        return options

    def filesystem(self):
        """pyarrow's S3 filesystem with the same credentials and endpoint (made once)."""
        if not self._fs:
            from pyarrow import fs

            options = self.storage_options()
            endpoint = options.get("AWS_ENDPOINT_URL", "")
            self._fs.append(
                fs.S3FileSystem(
                    access_key=options.get("AWS_ACCESS_KEY_ID"),
                    secret_key=options.get("AWS_SECRET_ACCESS_KEY"),
                    session_token=options.get("AWS_SESSION_TOKEN"),
                    region=options.get("AWS_REGION", "us-east-1"),
                    endpoint_override=endpoint or None,
                    scheme="http" if endpoint.startswith("http://") else "https",
                    allow_bucket_creation=False,
                )
            )
        return self._fs[0]

    def listing(self, rel_dir: str) -> dict[str, int]:
        """Name -> size of the objects directly under a lake-relative folder (empty when there are none)."""
        from pyarrow import fs

        selector = fs.FileSelector(self.key(rel_dir), allow_not_found=True)
        found = self.call(lambda: self.filesystem().get_file_info(selector), rel_dir)
        return {Path(info.path).name: info.size for info in found if info.type == fs.FileType.File}

    def walk(self, rel_dir: str) -> list[str]:
        """Lake-relative paths of every object under a lake-relative folder."""
        from pyarrow import fs

        selector = fs.FileSelector(self.key(rel_dir), allow_not_found=True, recursive=True)
        found = self.call(lambda: self.filesystem().get_file_info(selector), rel_dir)
        base = self.key("")
        return [info.path[len(base) :].lstrip("/") for info in found if info.type == fs.FileType.File]

    def size(self, rel: str) -> int | None:
        from pyarrow import fs

        info = self.call(lambda: self.filesystem().get_file_info(self.key(rel)), rel)
        return info.size if info.type == fs.FileType.File else None

    def read_bytes(self, rel: str) -> bytes:
        def read() -> bytes:
            with self.filesystem().open_input_stream(self.key(rel)) as stream:
                return stream.read()

        return self.call(read, rel)

    def fetch(self, rel: str, size: int | None = None) -> Path:
        """The cached copy of a lake file, downloaded (atomically) when it is missing or not of `size` bytes; a file
        the store does not hold is left missing, for the caller's check to name."""
        local = self.cache / rel
        try:
            found = local.stat().st_size
        except FileNotFoundError:
            found = None
        if found is not None and (size is None or found == size):
            return local
        if self.size(rel) is None:
            return local
        local.parent.mkdir(parents=True, exist_ok=True)
        tmp = local.with_name(f".fetch-{uuid.uuid4().hex}-{local.name}")
        try:
            tmp.write_bytes(self.read_bytes(rel))
            os.replace(tmp, local)
        finally:
            tmp.unlink(missing_ok=True)
        return local

    def upload(self, rel: str, local: Path) -> None:
        """Puts a finished local file under its lake-relative name (a new, unique name: nothing is overwritten)."""

        def put() -> None:
            with self.filesystem().open_output_stream(self.key(rel)) as stream, open(local, "rb") as handle:
                while chunk := handle.read(8 << 20):
                    stream.write(chunk)

        self.call(put, rel)

    def call(self, action, rel: str):
        try:
            return action()
        except OSError as exc:
            first = (str(exc).strip().splitlines() or [type(exc).__name__])[0][:200]
            raise EmolakeError(
                f"the object store refused {self.uri}/{rel}: {first} (check AWS_* credentials and AWS_ENDPOINT_URL)"
            ) from None


_remotes: dict[str, Remote] = {}
"""Cache directory -> its remote lake: the lake code passes the cache root around as the lake's root."""


def parse(location: str | Path) -> Remote | None:
    """The remote lake a `--lake` value names, or None for a local path; an unsupported URI raises in one line."""
    text = str(location)
    if "://" not in text and not text.startswith("s3:/"):
        return None
    found = URI.match(text)
    if found is None:
        raise EmolakeError(f"--lake {text!r}: a lake is a directory or s3://bucket/prefix (other stores: not yet)")
    bucket, prefix = found.group("bucket"), (found.group("prefix") or "").strip("/")
    if ".." in prefix.split("/"):
        raise EmolakeError(f"--lake {text!r}: `..` is not allowed in an object-store prefix")
    uri = "/".join(part for part in (f"s3://{bucket}", prefix) if part)
    base = Path(os.environ.get(CACHE_ENV) or Path.home() / ".cache" / "emolake" / "lakes")
    cache = base / hashlib.sha256(uri.encode()).hexdigest()[:16]
    known = _remotes.get(os.path.abspath(cache))
    if known is not None and known.uri == uri:
        return known  # one filesystem client per lake and process
    remote = Remote(uri, bucket, prefix, cache)
    cache.mkdir(parents=True, exist_ok=True)
    _remotes[os.path.abspath(cache)] = remote
    return remote


def of(root: Path | str) -> Remote | None:
    """The remote lake a lake root caches, or None for a local lake."""
    return _remotes.get(os.path.abspath(root)) if _remotes else None
