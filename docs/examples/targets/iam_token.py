"""Print a project-scoped IAM token: iam_token.py USER PASSWORD_VARIABLE PROJECT_ID."""

import json
import os
import sys
import urllib.request

user, password_variable, project_id = sys.argv[1:4]
user_identity = {
    "name": user,
    "password": os.environ[password_variable],
    "domain": {"name": os.environ["OMS_IAM_DOMAIN"]},
}
body = {
    "auth": {
        "identity": {"methods": ["password"], "password": {"user": user_identity}},
        "scope": {"project": {"id": project_id}},
    }
}
request = urllib.request.Request(
    f"https://iam.{os.environ['OMS_REGION']}.myhuaweicloud.com/v3/auth/tokens",
    data=json.dumps(body).encode(),
    headers={"Content-Type": "application/json;charset=utf8"},
    method="POST",
)
with urllib.request.urlopen(request, timeout=30) as answer:
    print(answer.headers["X-Subject-Token"])
