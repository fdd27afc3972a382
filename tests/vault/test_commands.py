"""`mss vault list` and `mss vault deposits`, end to end through `mss.cli.main`."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from mss.cli import main
from mss.demo import seed_world
from mss.pipeline.accept import Pipeline, Submission
from mss.pipeline.system_mail import attach_vault
from mss.policy import Channel
from mss.store.audit import events_for_subject
from mss.store.store import Store
from mss.vault.mdn_sending import drain_acknowledgements

from . import corpus
from .conftest import biologie, lettre


async def deposit_one(store: Store) -> str:
    world = await seed_world(store)
    pipeline = Pipeline(store, store.settings)
    attach_vault(pipeline)
    ins = world.jeanne_ins
    archive = corpus.xdm_archive([lettre(ins), biologie(ins, sha1="1" * 40)])
    message = corpus.xdm_message(archive, to=world.jeanne, sender=world.alice)
    await pipeline.accept(Submission(
        mail_from=world.alice, recipients=[world.jeanne], raw=message.as_bytes(),
        channel=Channel.SUBMISSION,
        principal=world.alice_principal))
    await drain_acknowledgements()
    return ins


async def listed_by_cli(store: Store, ins: str) -> list[str]:
    async with store.reading() as session:
        return [e.detail for e in await events_for_subject(session, ins)
                if e.principal == "system:cli"]


def test_vault_list_and_deposits(make_settings, tmp_path: Path,
                                 capsys: pytest.CaptureFixture[str]) -> None:
    settings = make_settings()

    async def prepare() -> str:
        store = await Store.open(settings)
        try:
            return await deposit_one(store)
        finally:
            await store.close()

    ins = asyncio.run(prepare())
    config = tmp_path / "mss.toml"
    url = settings.database.url
    config.write_text(f'[database]\nurl = "{url}"\n' if url else "", encoding="utf-8")
    base = ["--config", str(config), "--data", str(settings.data_dir), "vault"]
    assert main([*base, "list", ins]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0].startswith("Synthèses: 0, Traitements et soins: 0, Comptes rendus: 1,")
    assert len(out) == 2 and "11490-0" in out[1] and "Lettre de liaison" in out[1]
    assert main([*base, "deposits", ins]) == 0
    (line,) = capsys.readouterr().out.splitlines()
    assert "partial" in line and "documents=1 problems=1" in line
    assert main([*base, "list", "123"]) == 1

    async def traces() -> list[str]:
        store = await Store.open(settings)
        try:
            return await listed_by_cli(store, ins)
        finally:
            await store.close()

    assert asyncio.run(traces()) == ["operator deposits count=1", "operator list space=all"]
