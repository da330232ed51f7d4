"""Load test: 50 simulated users against gunicorn + PostgreSQL + Redis + two Celery workers.

    .venv/bin/python bench/load.py                  # 5 minutes
    LOAD_SECONDS=60 .venv/bin/python bench/load.py  # shorter

Everything runs on 127.0.0.1. The database `mutualaid_bench_load` (override with
LOAD_DATABASE_URL; the name must start with mutualaid_bench) is dropped and created afresh,
migrated and given the plan catalog and the demo data; Redis database 14 is the broker and is
flushed first. Then gunicorn (2 workers x 4 threads) and two Celery workers start, 50 users log
in once each (their own session) and loop until the time is up: a think time of 1-3 s, then an
action - browsing pages (about 75 %), a clerk's roster upload followed like htmx does (about
10 %), or an office review of claims and rosters (about 15 %). Each request's latency and
status is recorded; the script prints throughput, p50/p95/p99 latency per kind of request and
the errors, and exits non-zero on any error or when p95 of pages exceeds 300 ms.
No extra dependency: threads, urllib and http.cookiejar.
"""

from __future__ import annotations

import base64
import http.cookiejar
import io
import json
import os
import random
import re
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid
from collections import Counter, defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PY = str(ROOT / ".venv" / "bin" / "python")
BIN = ROOT / ".venv" / "bin"
HOST = "127.0.0.1"
PORT = int(os.environ.get("LOAD_PORT", "8123"))
BASE = f"http://{HOST}:{PORT}"
DURATION = float(os.environ.get("LOAD_SECONDS", "300"))
USERS = int(os.environ.get("LOAD_USERS", "50"))
DB_URL = os.environ.get(
    "LOAD_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/mutualaid_bench_load"
)
BROKER = "redis://127.0.0.1:6379/14"
PASSWORD = "demo-2026-portal"  # noqa: S105 - the published demo password
PLAN = "jilin-allowance-2020"
P95_TARGET_MS = 300.0
TIMEOUT = 30.0
UPLOAD_ROWS = 20
POLL_LIMIT = 120  # at most 120 polls (one a second) per upload

# (username, how many simulated users); clerks upload, office reviews, everyone browses.
ROLES = [
    ("clerk", 20),
    ("clerk2", 5),
    ("office", 15),
    ("auditor", 5),
    ("county", 3),
    ("planadmin", 2),
]
# action weights per username: (browse, upload, review); overall about 75 / 10 / 15.
ACTIONS = {"clerk": (75, 25, 0), "office": (50, 0, 50)}

SNAPSHOT = r"""
import io, json, sys
import openpyxl
from enrollment.models import Roster
from organisation.models import User
from enrollment.selectors import visible_rosters
from organisation.selectors import visible_members
from claims.selectors import visible_claims
out = {}
for name in %(names)r:
    user = User.objects.get(username=name)
    out[name] = {
        "members": list(visible_members(user).order_by("?").values_list("pk", flat=True)[:200]),
        "rosters": list(visible_rosters(user).values_list("pk", flat=True)[:200]),
        "claims": list(visible_claims(user).order_by("?").values_list("pk", flat=True)[:200]),
    }
clerk = User.objects.get(username="clerk")
book = openpyxl.Workbook()
sheet = book.active
sheet.title = "名单"
sheet.append(["2027年度职工互助保障参保名单"])
sheet.merge_cells("A1:F1")
sheet.append(["姓名", "身份证号", "手机号", "用工类型", "是否参加医保", "银行卡号"])
members = visible_members(clerk).filter(union=clerk.union).order_by("pk")[:%(rows)d]
for m in members:
    sheet.append([m.name, m.id_number, m.phone, m.get_employment_type_display(),
                  "是" if m.medical_insurance else "否", m.bank_card])
book.save(%(xlsx)r)
print("SNAPSHOT" + json.dumps(out))
"""


# --- set-up ---------------------------------------------------------------------------------


def _new_key() -> str:
    return base64.urlsafe_b64encode(secrets.token_bytes(32)).decode()


def environment(data_dir: str) -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        {
            "DJANGO_SETTINGS_MODULE": "mutualaid.settings",
            "PORTAL_IGNORE_DOTENV": "1",
            "DEBUG": "false",
            "SECRET_KEY": "load-test-" + uuid.uuid4().hex + uuid.uuid4().hex,
            # Fresh keys for a throwaway database, as a deployment has its own.
            "PERSONAL_DATA_KEYS": _new_key(),
            "PERSONAL_DATA_LOOKUP_KEY": _new_key(),
            "ALLOWED_HOSTS": "127.0.0.1,localhost",
            "SECURE_SSL_REDIRECT": "false",
            "SESSION_COOKIE_SECURE": "false",
            "CSRF_COOKIE_SECURE": "false",
            "SECURE_HSTS_SECONDS": "0",
            "DATA_DIR": data_dir,
            "DATABASE_URL": DB_URL,
            "CELERY_BROKER_URL": BROKER,
            "LOG_LEVEL": "WARNING",
        }
    )
    return env


def recreate_database() -> None:
    import psycopg
    from psycopg import sql

    name = DB_URL.rsplit("/", 1)[1]
    if not name.startswith("mutualaid_bench"):
        sys.exit("Refusing: the load database's name must start with mutualaid_bench.")
    if urllib.parse.urlsplit(DB_URL).hostname != HOST:
        sys.exit("Refusing: the load database must be on 127.0.0.1.")
    admin = DB_URL.rsplit("/", 1)[0] + "/postgres"
    with psycopg.connect(admin, autocommit=True) as conn:
        drop = sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)")
        conn.execute(drop.format(sql.Identifier(name)))
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))


def flush_broker() -> None:
    import redis

    redis.Redis(host=HOST, port=6379, db=14).flushdb()


def manage(env: dict[str, str], *args: str) -> str:
    result = subprocess.run(  # noqa: S603 - fixed arguments, our own manage.py
        [PY, "manage.py", *args], cwd=ROOT, env=env, capture_output=True, text=True, check=False
    )
    if result.returncode:
        sys.exit(f"manage.py {' '.join(args[:1])} failed:\n{result.stdout}\n{result.stderr}")
    return result.stdout


def wait_until_up(deadline: float) -> None:
    while time.monotonic() < deadline:
        try:
            url = BASE + "/accounts/login/"  # always http://127.0.0.1
            with urllib.request.urlopen(url, timeout=2) as response:  # noqa: S310
                if response.status == 200:
                    return
        except OSError:
            pass
        time.sleep(0.5)
    sys.exit("gunicorn did not answer in time.")


# --- measuring ------------------------------------------------------------------------------


class Stats:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.samples: dict[str, list[float]] = defaultdict(list)
        self.errors: Counter[str] = Counter()
        self.total = 0
        self.actions: Counter[str] = Counter()

    def record(self, kind: str, ms: float, error: str | None) -> None:
        with self.lock:
            self.total += 1
            self.samples[kind].append(ms)
            if error:
                self.errors[error] += 1


STATS = Stats()


class NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, req, fp, code, msg, headers, newurl):  # noqa: ANN001
        return None


class Response:
    def __init__(self, status: int, body: bytes, headers) -> None:  # noqa: ANN001
        self.status = status
        self.body = body
        self.headers = headers

    @property
    def text(self) -> str:
        return self.body.decode("utf-8", "replace")


def _label(path: str) -> str:
    return re.sub(r"/\d+/", "/<id>/", path.split("?")[0])


class Client:
    def __init__(self) -> None:
        self.jar = http.cookiejar.CookieJar()
        self.opener = urllib.request.build_opener(
            urllib.request.HTTPCookieProcessor(self.jar), NoRedirect()
        )

    def csrf(self) -> str:
        for cookie in self.jar:
            if cookie.name == "csrftoken":
                return cookie.value
        return ""

    def request(
        self,
        kind: str,
        path: str,
        *,
        data: bytes | None = None,
        content_type: str = "application/x-www-form-urlencoded",
        expect: tuple[int, ...] = (200,),
        headers: dict[str, str] | None = None,
    ) -> Response | None:
        request = urllib.request.Request(BASE + path, data=data, method="POST" if data else "GET")  # noqa: S310 - BASE is http://127.0.0.1
        request.add_header("Referer", BASE + path)
        if data is not None:
            request.add_header("Content-Type", content_type)
            request.add_header("X-CSRFToken", self.csrf())
        for key, value in (headers or {}).items():
            request.add_header(key, value)
        method = "POST" if data else "GET"
        start = time.perf_counter()
        try:
            try:
                with self.opener.open(request, timeout=TIMEOUT) as raw:  # noqa: S310
                    response = Response(raw.status, raw.read(), raw.headers)
            except urllib.error.HTTPError as exc:
                response = Response(exc.code, exc.read(), exc.headers)
        except Exception as exc:  # timeouts, refused connections, resets
            ms = (time.perf_counter() - start) * 1000
            STATS.record(kind, ms, f"{method} {_label(path)}: {type(exc).__name__}")
            return None
        ms = (time.perf_counter() - start) * 1000
        error = None
        if response.status not in expect:
            error = f"{method} {_label(path)}: HTTP {response.status}"
        STATS.record(kind, ms, error)
        return response if error is None else None

    def post_form(self, kind: str, path: str, fields: dict[str, str], **kw) -> Response | None:  # noqa: ANN003
        fields = {"csrfmiddlewaretoken": self.csrf(), **fields}
        return self.request(kind, path, data=urllib.parse.urlencode(fields).encode(), **kw)

    def post_multipart(
        self,
        kind: str,
        path: str,
        fields: dict[str, str],
        file: tuple[str, str, bytes],
        **kw,  # noqa: ANN003
    ) -> Response | None:
        boundary = "----load" + uuid.uuid4().hex
        body = io.BytesIO()
        for name, value in {"csrfmiddlewaretoken": self.csrf(), **fields}.items():
            body.write(
                f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n'
                f"{value}\r\n".encode()
            )
        field, filename, content = file
        body.write(
            f'--{boundary}\r\nContent-Disposition: form-data; name="{field}"; '
            f'filename="{filename}"\r\nContent-Type: application/vnd.openxmlformats-'
            f"officedocument.spreadsheetml.sheet\r\n\r\n".encode()
        )
        body.write(content + f"\r\n--{boundary}--\r\n".encode())
        return self.request(
            kind,
            path,
            data=body.getvalue(),
            content_type=f"multipart/form-data; boundary={boundary}",
            **kw,
        )


# --- the simulated user ---------------------------------------------------------------------


BROWSE = {
    "common": [
        "/",
        "/members/",
        "/rosters/",
        "/claims/",
        "/plans/",
        f"/plans/{PLAN}/",
        "/unions/",
        "/claims/?status=reviewing&sort=due",
    ],
    "dashboards": ["office", "auditor"],
}


class User:
    def __init__(
        self, username: str, ids: dict, workbook: bytes, stop_at: float, rng: random.Random
    ) -> None:
        self.username = username
        self.ids = ids
        self.workbook = workbook
        self.stop_at = stop_at
        self.rng = rng
        self.client = Client()

    def sleep(self, seconds: float) -> bool:
        """Sleeps unless the run ends first; False when the time is up."""
        remaining = self.stop_at - time.monotonic()
        time.sleep(max(0.0, min(seconds, remaining)))
        return time.monotonic() < self.stop_at

    def login(self) -> bool:
        if self.client.request("login", "/accounts/login/") is None:
            return False
        response = self.client.post_form(
            "login",
            "/accounts/login/",
            {"username": self.username, "password": PASSWORD},
            expect=(302,),
        )
        return response is not None

    def run(self) -> None:
        if not self.login():
            return
        weights = ACTIONS.get(self.username, (100, 0, 0))
        while self.sleep(self.rng.uniform(1.0, 3.0)):
            action = self.rng.choices(["browse", "upload", "review"], weights=weights)[0]
            with STATS.lock:
                STATS.actions[action] += 1
            getattr(self, action)()

    def page(self, path: str) -> Response | None:
        return self.client.request("page", path)

    def browse(self) -> None:
        choices = list(BROWSE["common"])
        if self.username in BROWSE["dashboards"]:
            choices.append("/dashboards/")
        if self.username == "auditor":
            # The audit log, whole and searched, as auditors read it while the others work.
            choices += ["/audit/", "/audit/?action=view", "/audit/?record_type=claim&page=2"]
        for key, prefix in (
            ("members", "/members/"),
            ("rosters", "/rosters/"),
            ("claims", "/claims/"),
        ):
            if self.ids[key]:
                choices.append(f"{prefix}{self.rng.choice(self.ids[key])}/")
        self.page(self.rng.choice(choices))

    def upload(self) -> None:
        if self.page("/rosters/upload/") is None:
            return
        response = self.client.post_multipart(
            "upload",
            "/rosters/upload/",
            {
                "plan": PLAN,
                "coverage_start": "2027-01-01",
                "unit_percent": "60",
                "union_percent": "0",
                "member_percent": "40",
            },
            ("file", "名单.xlsx", self.workbook),
            expect=(302,),
        )
        if response is None:
            return
        match = re.search(r"/rosters/(\d+)/", response.headers.get("Location", ""))
        if not match:
            STATS.record("upload", 0.0, "POST /rosters/upload/: no redirect to the roster")
            return
        pk = match.group(1)
        if self.page(f"/rosters/{pk}/") is None:
            return
        for _ in range(POLL_LIMIT):
            if not self.sleep(1.0):
                return
            poll = self.client.request(
                "poll", f"/rosters/{pk}/progress/", headers={"HX-Request": "true"}
            )
            if poll is None:
                return
            if poll.headers.get("HX-Refresh") == "true":
                break
        else:
            STATS.record("upload", 0.0, "roster not checked within the polling limit")
            return
        detail = self.page(f"/rosters/{pk}/")
        if detail is not None and f"/rosters/{pk}/withdraw/" in detail.text:
            # A harmless state change that keeps the run repeatable: the draft is withdrawn.
            self.client.post_form("action", f"/rosters/{pk}/withdraw/", {}, expect=(302,))

    def review(self) -> None:
        queue = self.rng.choice(
            ["/claims/?status=reviewing&sort=due", "/claims/", "/claims/?sort=due", "/rosters/"]
        )
        if self.page(queue) is None:
            return
        for _ in range(2):
            if not self.sleep(self.rng.uniform(1.0, 2.0)):
                return
            key = self.rng.choice(["claims", "rosters"])
            if self.ids[key]:
                self.page(f"/{key}/{self.rng.choice(self.ids[key])}/")


# --- report ---------------------------------------------------------------------------------


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    index = min(len(ordered) - 1, max(0, round(p / 100 * len(ordered) + 0.5) - 1))
    return ordered[index]


def report(elapsed: float) -> int:
    print(f"\n{USERS} users, {elapsed:.0f} s, gunicorn 2 workers x 4 threads, 2 Celery workers")
    print(f"actions: {dict(STATS.actions)}")
    print(f"requests: {STATS.total}   throughput: {STATS.total / elapsed:.1f} req/s")
    for kind in ("page", "upload", "poll", "action", "login"):
        values = STATS.samples.get(kind, [])
        if values:
            print(
                f"  {kind:<7} n={len(values):>6}   p50 {percentile(values, 50):7.1f} ms   "
                f"p95 {percentile(values, 95):7.1f} ms   p99 {percentile(values, 99):7.1f} ms   "
                f"max {max(values):7.1f} ms"
            )
    errors = sum(STATS.errors.values())
    print(f"errors: {errors}")
    for what, count in STATS.errors.most_common():
        print(f"  {count:>5}  {what}")
    p95 = percentile(STATS.samples.get("page", []), 95)
    ok = errors == 0 and p95 <= P95_TARGET_MS
    print(f"target (no errors, p95 pages <= {P95_TARGET_MS:.0f} ms): {'met' if ok else 'MISSED'}")
    return 0 if ok else 1


# --- main -----------------------------------------------------------------------------------


def main() -> int:
    data_dir = tempfile.mkdtemp(prefix="mutualaid-load-")
    env = environment(data_dir)
    processes: list[subprocess.Popen] = []
    logs = []
    try:
        started = time.monotonic()
        recreate_database()
        flush_broker()
        for command in (
            ["migrate", "--verbosity", "0"],
            ["load_plans"],
            ["load_demo"],
            ["collectstatic", "--noinput", "--verbosity", "0"],
        ):
            manage(env, *command)
        names = sorted({name for name, _ in ROLES})
        xlsx = os.path.join(data_dir, "load-roster.xlsx")
        output = manage(
            env, "shell", "-c", SNAPSHOT % {"names": names, "rows": UPLOAD_ROWS, "xlsx": xlsx}
        )
        ids = json.loads(output.split("SNAPSHOT", 1)[1])
        workbook = Path(xlsx).read_bytes()
        print(f"set-up in {time.monotonic() - started:.0f} s; starting gunicorn and workers")

        def spawn(name: str, args: list[str]) -> None:
            log = open(os.path.join(data_dir, f"{name}.log"), "wb")  # noqa: SIM115
            logs.append(log)
            processes.append(
                subprocess.Popen(  # noqa: S603 - fixed arguments
                    args,
                    cwd=ROOT,
                    env=env,
                    stdout=log,
                    stderr=subprocess.STDOUT,
                    start_new_session=True,
                )
            )

        spawn(
            "gunicorn",
            [
                str(BIN / "gunicorn"),
                "mutualaid.wsgi",
                "--workers",
                "2",
                "--threads",
                "4",
                "--bind",
                f"{HOST}:{PORT}",
                "--timeout",
                "60",
            ],
        )
        for n in (1, 2):
            spawn(
                f"celery{n}",
                [
                    str(BIN / "celery"),
                    "-A",
                    "mutualaid",
                    "worker",
                    "--concurrency=1",
                    "--loglevel=WARNING",
                    "-n",
                    f"load{n}@%h",
                ],
            )
        wait_until_up(time.monotonic() + 60)

        rng = random.Random(2026)
        begin = time.monotonic()
        stop_at = begin + DURATION
        population = [name for name, count in ROLES for _ in range(count)][:USERS]
        threads = []
        for index, name in enumerate(population):
            user = User(name, ids[name], workbook, stop_at, random.Random(rng.random()))
            thread = threading.Thread(target=user.run, daemon=True)
            threads.append(thread)
            thread.start()
            time.sleep(min(0.2, DURATION / 100))  # spread the logins (password hashing)
            del index
        for thread in threads:
            thread.join(timeout=max(1.0, stop_at - time.monotonic()) + TIMEOUT + 5)
        elapsed = time.monotonic() - begin
        return report(elapsed)
    finally:
        for process in processes:
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGTERM)
        for process in processes:
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()
        for log in logs:
            log.close()
        if os.environ.get("LOAD_KEEP_LOGS"):
            print(f"logs kept in {data_dir}")
        else:
            shutil.rmtree(data_dir, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
