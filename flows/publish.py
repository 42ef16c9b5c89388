"""Prefect flow: publish a finished dataset folder to the Hugging Face Hub.

python -m flows.publish out/stories --repo alice/tiny-stories-synth
"""

from __future__ import annotations

import argparse

from prefect import flow, task

from schoolhouse.publish import check_folder, check_repo, publish


@task
def check(folder: str, repo: str) -> int:
    check_repo(repo)
    return len(check_folder(folder))


@task(retries=2, retry_delay_seconds=[30, 120])
def upload(folder: str, repo: str, private: bool, revision: str | None) -> str:
    return publish(folder, repo, private=private, revision=revision)


@flow(name="publish", log_prints=True)
def publish_flow(folder: str, repo: str, private: bool = False, revision: str | None = None) -> str:
    print(f"{check(folder, repo)} files to publish from {folder}")
    return upload(folder, repo, private, revision)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Run the publish flow locally.")
    parser.add_argument("folder", help="dataset folder")
    parser.add_argument("--repo", required=True, help="OWNER/NAME")
    parser.add_argument("--private", action="store_true", help="create the repo private")
    parser.add_argument("--revision", help="branch to commit to")
    args = parser.parse_args(argv)
    publish_flow(args.folder, args.repo, args.private, args.revision)


if __name__ == "__main__":
    main()
