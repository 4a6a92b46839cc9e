from __future__ import annotations

import stat
from pathlib import Path

from gavel import cassandra_auth
from gavel_devstack import cassandra_security


def test_passwords_are_made_once_per_run_folder_and_kept_private(tmp_path: Path) -> None:
    first = cassandra_security.passwords(tmp_path)
    assert set(first) == {*cassandra_auth.ROLES, cassandra_security.SUPERUSER}
    assert len(set(first.values())) == len(first)
    assert cassandra_security.passwords(tmp_path) == first
    mode = cassandra_security.users_file(tmp_path).stat().st_mode
    assert stat.S_IMODE(mode) == 0o600
    # The superuser's password is never the well-known one.
    assert first[cassandra_security.SUPERUSER] != cassandra_security.SUPERUSER


def test_env_lines_give_each_role_its_login_and_not_the_superuser(tmp_path: Path) -> None:
    env = dict(line.split("=", 1) for line in cassandra_security.env_lines(tmp_path))
    for role in cassandra_auth.ROLES:
        assert cassandra_auth.login_from_env(role, env) == cassandra_security.login(tmp_path, role)
    superuser = cassandra_security.superuser_login(tmp_path)
    assert superuser.password not in env.values()
