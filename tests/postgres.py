"""A throw-away PostgreSQL cluster with PostGIS for the tests (Debian's ``postgresql`` and ``postgis``).

``Cluster.start()`` runs ``initdb`` into a new temporary folder and ``pg_ctl start`` on a
free loopback port; ``stop()`` stops it and deletes the folder. PostgreSQL refuses to run
as root, so under root (CI) the server runs as the ``postgres`` user Debian's package
creates (``runuser``). Trust authentication on 127.0.0.1 only; fsync off (nothing here
needs to survive a crash).
"""
from __future__ import annotations

import glob
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
from pathlib import Path

DATABASE = "kiezkarte_test"


def binaries() -> Path | None:
    """The newest PostgreSQL server binaries that have PostGIS beside them, or None."""
    for folder in sorted(glob.glob("/usr/lib/postgresql/*/bin"), key=lambda p: int(Path(p).parent.name), reverse=True):
        version = Path(folder).parent.name
        if (Path(folder) / "initdb").exists() and Path(f"/usr/share/postgresql/{version}/extension/postgis.control").exists():
            return Path(folder)
    return None


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Cluster:
    def __init__(self):
        self.bin = binaries()
        if self.bin is None:
            raise RuntimeError("PostgreSQL with PostGIS is not installed (Debian: apt-get install postgresql postgis; "
                               "./run.sh test installs them)")
        self.folder = Path(tempfile.mkdtemp(prefix="kiezkarte-pg-"))
        self.data = self.folder / "data"
        self.port = free_port()
        self.user = None
        self.loaded: dict[str, str] = {}
        if os.geteuid() == 0:
            self.user = pwd.getpwnam("postgres")
            os.chown(self.folder, self.user.pw_uid, self.user.pw_gid)

    def _run(self, *args: str, check=True) -> subprocess.CompletedProcess:
        command = [str(a) for a in args]
        if self.user is not None:
            command = ["runuser", "-u", self.user.pw_name, "--", *command]
        return subprocess.run(command, capture_output=True, text=True, check=check, timeout=120, cwd=self.folder)

    @property
    def admin_url(self) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/postgres"

    @property
    def url(self) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/{DATABASE}"

    def start(self) -> "Cluster":
        import psycopg
        try:
            self._run(self.bin / "initdb", "-D", self.data, "-U", "postgres", "--auth=trust", "-E", "UTF8",
                      "--locale=C.UTF-8")
            options = (f"-p {self.port} -k {self.folder} -c listen_addresses=127.0.0.1 -c fsync=off "
                       "-c synchronous_commit=off -c full_page_writes=off -c max_connections=100")
            self._run(self.bin / "pg_ctl", "-D", self.data, "-o", options, "-l", self.folder / "server.log", "-w",
                      "-t", "60", "start")
        except subprocess.CalledProcessError as exc:
            log = (self.folder / "server.log").read_text() if (self.folder / "server.log").exists() else ""
            self.stop()
            raise RuntimeError(f"could not start PostgreSQL: {exc.stderr}\n{log}") from exc
        with psycopg.connect(self.admin_url, autocommit=True) as conn:
            conn.execute(f"CREATE DATABASE {DATABASE}")
        with psycopg.connect(self.url, autocommit=True) as conn:
            conn.execute("CREATE EXTENSION postgis")
        return self

    def load(self, gpkg, schema: str) -> str:
        """URL of the schema holding a copy of a built GeoPackage (loaded on first call, as a PostGIS build does)."""
        url = f"{self.url}?schema={schema}"
        if schema not in self.loaded:
            from app.store.postgis import load_geopackage
            load_geopackage(gpkg, url)
            self.loaded[schema] = str(gpkg)
        elif self.loaded[schema] != str(gpkg):
            raise ValueError(f"schema {schema} already holds {self.loaded[schema]}, not {gpkg}")
        return url

    def stop(self) -> None:
        if (self.data / "postmaster.pid").exists():
            self._run(self.bin / "pg_ctl", "-D", self.data, "-m", "immediate", "-w", "stop", check=False)
        shutil.rmtree(self.folder, ignore_errors=True)
