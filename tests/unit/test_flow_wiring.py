from flows.generate_stories import generate, is_teacher_error
from schoolhouse.teacher import TeacherError


class State:
    def __init__(self, data):
        self.data = data


def test_only_teacher_failures_are_retried():
    assert generate.retries == 3
    assert is_teacher_error(None, None, State(TeacherError("server gone")))
    assert not is_teacher_error(None, None, State(ValueError("bad config")))


def test_core_never_imports_prefect():
    import subprocess
    import sys

    code = (
        "import sys, schoolhouse.generation, schoolhouse.cli, schoolhouse.teacher.http, filters;"
        "bad = [m for m in ('prefect', 'torch', 'vllm') if m in sys.modules]; print(bad)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_publish_flow_retries_uploads():
    from flows.publish import upload

    assert upload.retries == 2
