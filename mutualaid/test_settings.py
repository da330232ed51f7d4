"""Settings for the test suite: the real settings, with test-only values set before they load.

DATABASE_URL still comes from the environment, so the same suite runs on SQLite by default and
on PostgreSQL when CI points it there.
"""

import os
import tempfile

os.environ["PORTAL_IGNORE_DOTENV"] = "1"
os.environ.setdefault("SECRET_KEY", "test-only-secret-key-0123456789-abcdefghijklmnopqrstuvwxyz")
os.environ.setdefault("DEBUG", "false")
os.environ.setdefault("ALLOWED_HOSTS", "testserver,127.0.0.1,localhost")
os.environ.setdefault("DATA_DIR", tempfile.mkdtemp(prefix="mutualaid-test-"))

# Personal-data keys: stand-ins derived from the test SECRET_KEY unless given. Put into the
# environment (not only into these settings) so worker processes the tests start agree.
from mutualaid.crypto import derive_keys  # noqa: E402

_test_key, _test_lookup_key = derive_keys(os.environ["SECRET_KEY"])
os.environ.setdefault("PERSONAL_DATA_KEYS", _test_key)
os.environ.setdefault("PERSONAL_DATA_LOOKUP_KEY", _test_lookup_key)

from mutualaid.settings import *  # noqa: E402,F403

# The test client speaks plain HTTP.
SECURE_SSL_REDIRECT = False
SESSION_COOKIE_SECURE = False
CSRF_COOKIE_SECURE = False
SECURE_HSTS_SECONDS = 0

STATIC_ROOT.mkdir(parents=True, exist_ok=True)  # noqa: F405
# A file, not memory, for the SQLite test database: the worker-process tests start a real
# Celery worker that must see the same data.
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":  # noqa: F405
    DATABASES["default"]["TEST"] = {"NAME": str(DATA_DIR / "test.sqlite3")}  # noqa: F405

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
STORAGES["staticfiles"] = {  # noqa: F405
    "BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"
}
CELERY_TASK_ALWAYS_EAGER = True
LOGGING["root"]["level"] = "WARNING"  # noqa: F405
