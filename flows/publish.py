"""Prefect flow: publish a finished dataset folder to the Hugging Face Hub.

python -m flows.publish out/stories --repo alice/tiny-stories-synth
python -m flows.publish --help          # the options of `schoolhouse publish`
"""

from __future__ import annotations

from prefect import flow, task

from schoolhouse.datasets.publish import check_folder, check_repo, publish
from schoolhouse.options import publish_options


@task
def check(folder: str, repo: str) -> int:
    check_repo(repo)
    return len(check_folder(folder))


@task(retries=2, retry_delay_seconds=[30, 120])
def upload(folder: str, repo: str, private: bool, revision: str | None, retry: dict) -> str:
    return publish(folder, repo, private=private, revision=revision, **retry)


@flow(name="publish", log_prints=True)
def publish_flow(
    folder: str,
    repo: str,
    private: bool = False,
    revision: str | None = None,
    retries: int | None = None,
    backoff: float | None = None,
) -> str:
    """None takes `publish`'s own retry settings."""
    print(f"{check(folder, repo)} files to publish from {folder}")
    retry = {k: v for k, v in {"retries": retries, "backoff": backoff}.items() if v is not None}
    return upload(folder, repo, private, revision, retry)


def main(argv: list[str] | None = None) -> None:
    """`python -m flows.publish`: the options of `schoolhouse publish`, then the flow."""
    import click

    @click.command("publish", help="Run the publish flow locally (no server needed).")
    @publish_options
    def command(folder, **values) -> None:
        publish_flow(str(folder), **values)

    command.main(argv, prog_name="python -m flows.publish")


if __name__ == "__main__":
    main()
