"""gunicorn's settings for the Flask server: several workers, limits that let the page's legal values in,
and the SQLite database created from the seed once, in the master, before the workers fork."""

import os
import sqlite3

bind = f"127.0.0.1:{os.environ.get('PORT', '8000')}"
workers = 3
# The page allows 1,024-character ids: of 4-byte characters, percent-encoded, 12 KiB each in the request
# line (default 4094; any value from 8190 up is clamped to 8190, only 0 lifts it) and a 16,384-character
# X-Auth-Token (default field size 8190; 0 is documented as unlimited but gunicorn reads it as 8190).
limit_request_line = 0
limit_request_field_size = 32768
control_socket_disable = True  # no control socket in $HOME: several servers may run side by side
raw_env = [f"OMS_DB={os.environ['OMS_SEED']}.sqlite3"]


def on_starting(server: object) -> None:
    seed = os.environ["OMS_SEED"]
    with sqlite3.connect(f"{seed}.sqlite3") as db:
        db.executescript(
            "DROP TABLE IF EXISTS tokens; DROP TABLE IF EXISTS taskgroups;"
            "CREATE TABLE tokens (token TEXT PRIMARY KEY, project_id TEXT, may_update INTEGER);"
            "CREATE TABLE taskgroups (project_id TEXT, group_id TEXT, status INTEGER,"
            " PRIMARY KEY (project_id, group_id));"
        )
        with open(seed, encoding="utf-8") as lines:
            for line in lines:
                kind, *fields = line.rstrip("\n").split("\t")
                table = "tokens" if kind == "token" else "taskgroups"  # the seed's order is the tables'
                db.execute(f"INSERT INTO {table} VALUES (?, ?, ?)", fields)
