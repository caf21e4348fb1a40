"""How long each interaction waits for its acknowledgement while a burst of /ask is being answered.

    .venv/bin/python benchmarks/ack_latency.py            # 150 /ask at once, then /about, /articles,
                                                          # /article and a 👍 click, all unsettled
    .venv/bin/python benchmarks/ack_latency.py --burst 300

Every interaction is emitted through simcord before the bot runs any of them (as from the gateway
under load); the acknowledgement time of each is from its emission to the moment Discord received
its first response (a deferral or the answer). Discord's limit is 3 s.
"""

from __future__ import annotations

import argparse
import asyncio
import shutil
import sys
import time
from pathlib import Path

import _common as C

DISCORD_LIMIT_MS = 3000.0


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--burst", type=int, default=150, help="simultaneous /ask (default 150)")
    ap.add_argument("--rounds", type=int, default=2, help="bursts measured (default 2)")
    ap.add_argument("--corpus", type=Path, default=C.BUNDLED_CORPUS)
    args = ap.parse_args()
    C.limit_threads()
    C.quiet_logs()
    work = C.make_tempdir("ack")
    try:
        pipeline = C.warmed_pipeline(args.corpus, work)
        return asyncio.run(_run(args, pipeline, work))
    finally:
        shutil.rmtree(work, ignore_errors=True)


async def _run(args, pipeline, work: Path) -> int:
    import logging

    import simcord

    from bot.discord_app import create_bot

    logging.getLogger("discord").setLevel(logging.ERROR)
    # The bot's own bound on answers at once (DISCORD_MAX_CONCURRENT_ANSWERS, default 4) applies.
    settings = C.discord_settings(pipeline.settings.model_copy(update={"feedback_file": work / "votes.jsonl"}))
    bot = create_bot(settings, pipeline, command_state=work / "commands.json")
    C.header(f"ack_latency: acknowledgement times behind a burst of {args.burst} /ask")
    first_article = next(iter(pipeline.generation.articles))
    worst_all = 0.0
    async with simcord.run(bot) as env:
        channel, member = C.bench_channel(env)

        warm = await member().slash(channel, "ask", question=C.QUESTIONS[0])  # not counted
        for r in range(args.rounds):
            sent: list[tuple[str, float, object]] = []
            original = env._settle_internal

            async def no_settle(**_kw) -> None:
                return None

            env._settle_internal = no_settle  # emit everything before the bot runs any of it
            try:
                for i in range(args.burst):
                    q = C.QUESTIONS[(r * 31 + i) % len(C.QUESTIONS)]
                    res = await member().slash(channel, "ask", question=q)
                    sent.append(("/ask", time.perf_counter(), res))
                for name, opts in (("about", {}), ("articles", {}), ("article", {"name": first_article})):
                    res = await member().slash(channel, name, **opts)
                    sent.append((f"/{name}", time.perf_counter(), res))
                res = await member().click(warm.response, label="Helpful")
                sent.append(("👍 button", time.perf_counter(), res))
            finally:
                env._settle_internal = original
            acked: dict[int, float] = {}
            deadline = time.perf_counter() + 600
            while len(acked) < len(sent) and time.perf_counter() < deadline:
                now = time.perf_counter()
                for i, (_, t0, res) in enumerate(sent):
                    if i not in acked and res._interaction.responded:
                        acked[i] = (now - t0) * 1000
                await asyncio.sleep(0.005)
            await env.settle(timeout=600)
            by_kind: dict[str, list[float]] = {}
            for i, (kind, _, _) in enumerate(sent):
                by_kind.setdefault(kind, []).append(acked.get(i, float("inf")))
            print(f"\nround {r + 1}: {len(sent)} interactions, {len(acked)} acknowledged")
            print(f"{'':12}{'n':>5}{'p50':>10}{'p95':>10}{'max':>10}")
            for kind, values in by_kind.items():
                print(f"{kind:12}{len(values):5d}{C.percentile(values, 50):10.0f}"
                      f"{C.percentile(values, 95):10.0f}{max(values):10.0f}   ms")
            worst = max(max(v) for v in by_kind.values())
            worst_all = max(worst_all, worst)
            busy = sum(
                1 for kind, _, res in sent
                if kind == "/ask" and res.response is not None and not res.response.embeds
            )
            print(f"/ask answered with the busy message instead of an answer: {busy}")
            await env.advance_time(15 * 60 + 1)
    ok = worst_all < DISCORD_LIMIT_MS
    print(f"\nworst acknowledgement over {args.rounds} rounds: {worst_all:.0f} ms "
          f"(Discord's limit {DISCORD_LIMIT_MS:.0f} ms) {C.verdict(ok)}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
