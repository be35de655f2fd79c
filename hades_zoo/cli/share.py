"""Share datasets and policies through the Hugging Face Hub: ``push``, ``pull``.
"""

from __future__ import annotations

import click

from hades_zoo.cli.base import OutPath, _fail_cleanly, _human, _load_any, cli

__all__ = ["push", "pull"]


@cli.command()
@click.argument("source", metavar="PATH_OR_ID")
@click.option("--repo-id", required=True,
              help="Target repo, ORG/NAME: a dataset repo, or a model repo for a policy "
                   "folder.")
@click.option("--tag", default=None, help="Tag the new commit (e.g. v1).")
@click.option("--revision", default=None, help="Target branch (created if missing).")
@click.option("--private", is_flag=True, help="Create the repo private.")
@click.option("--dry-run", is_flag=True, help="List what would be uploaded; upload nothing.")
@click.option("--overwrite-card", is_flag=True, help="Replace an existing README.md card.")
@_fail_cleanly
def push(source: str, repo_id: str, tag: str | None, revision: str | None, private: bool,
         dry_run: bool, overwrite_card: bool) -> None:
    """Upload a dataset (file, folder or id) to a Hub dataset repo in one commit, or a
    policy folder (`hades-zoo train ... --out DIR`: it has a config.json) to a Hub
    model repo.

    An entry folder with a README.md card (`hades-zoo distill --out DIR`) is uploaded
    as it is (its dataset checked against the card's sha256 first; the resume
    checkpoint stays local). A file or zoo id gets a card, recipe.yaml and a parquet
    table written for it. A README.md already in the repo is kept, with its hades_zoo
    block brought up to date. A --tag that exists is refused before anything is
    uploaded. A policy folder is checked (sha256 of its weights and config against
    its card) and its README.md, config.json and model.safetensors uploaded; load it
    back with hz.load_policy("hf:ORG/NAME"). Uses HF_TOKEN (or `huggingface-cli
    login`) and HF_ENDPOINT.

    \b
    Examples:
      hades-zoo push runs/cartpole --repo-id me/cartpole-R-2 --tag v1
      hades-zoo push runs/cartpole/cartpole-R-2.safetensors --repo-id me/cartpole
      hades-zoo push pol/ --repo-id me/cartpole-policy     # a policy: a model repo
    """
    import os
    from pathlib import Path

    from hades_zoo.hub import push_folder, push_to_hub

    if os.path.isdir(source) and (Path(source) / "config.json").is_file():
        from hades_zoo.hub import push_policy_folder

        res = push_policy_folder(source, repo_id, revision=revision, tag=tag,
                                 private=private, dry_run=dry_run,
                                 overwrite_card=overwrite_card)
    elif os.path.isdir(source) and (Path(source) / "README.md").is_file():
        res = push_folder(source, repo_id, revision=revision, tag=tag, private=private,
                          dry_run=dry_run, overwrite_card=overwrite_card)
    else:
        ds, _ = _load_any(source)
        res = push_to_hub(ds, repo_id, revision=revision, tag=tag, private=private,
                          dry_run=dry_run, overwrite_card=overwrite_card)
    if res.not_compared is not None:
        click.echo(f"not compared with the repo: {res.not_compared}; listed as for a new "
                   "repo (a real push keeps an existing README.md, refuses a taken --tag)")
    verb = "would upload" if res.dry_run else "uploaded"
    for f in res.files:
        click.echo(f"{verb} {f.path}  {_human(f.size)}  sha256 {f.sha256}")
    if res.card_block_updated:
        click.echo("kept the existing README.md, its hades_zoo block updated to this file "
                   "(pass --overwrite-card to replace the whole card)")
    elif res.card_kept:
        click.echo("kept the existing README.md (pass --overwrite-card to replace it)")
    if res.dry_run:
        click.echo(f"dry run: nothing uploaded to {repo_id}")
    else:
        click.echo(f"commit {res.commit} {res.commit_url}" + (f" tag {tag}" if tag else ""))


@cli.command()
@click.argument("source", metavar="hf:ORG/NAME[@REV]")
@click.option("--out", "out_dir", default=None, type=OutPath("folder"),
              help="Folder for the files (default: the hades_zoo cache).")
@_fail_cleanly
def pull(source: str, out_dir: str | None) -> None:
    """Download a Hub dataset repo, check its sha256 and copy its files.

    Without --out the files go to the hades_zoo cache, and the revision is recorded
    there, so `hf:ORG/NAME[@REV]` still loads offline (HF_HUB_OFFLINE=1) or with the
    Hub down.

    \b
    Example:
      hades-zoo pull hf:me/cartpole@v1 --out data/cartpole
    """
    from hades_zoo.errors import HubSourceError
    from hades_zoo.hub import pull_from_hub

    if not source.startswith("hf:"):
        raise HubSourceError(f"{source!r}: pull takes hf:ORG/NAME[@REV], e.g. hf:me/cartpole@v1.")
    res = pull_from_hub(source, out=out_dir)
    click.echo(f"{res.source} -> {res.directory}")
    click.echo(f"  {res.dataset_file.name}  sha256 {res.sha256} (verified)")
