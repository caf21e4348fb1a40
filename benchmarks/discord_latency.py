"""`/ask` through the real bot (discord.py + the project's cogs) on simcord's in-memory Discord.

    .venv/bin/python benchmarks/discord_latency.py                    # 200 sequential /ask, burst of 50
    .venv/bin/python benchmarks/discord_latency.py --calls 400 --burst 100

1. Sequential round trip: one `/ask` slash command at a time (defer -> pipeline.ask in a thread ->
   followup embed), p50/p95, next to a direct `pipeline.ask` of the same question in the same loop
   (the baseline) -> the ratio is what the Discord layer adds.
2. Burst: N questions from N different users dispatched at once (all N interactions are emitted
   before the bot runs any of them, then the loop runs until all are settled). Checks that all are
   answered with an embed, measures the time to complete each one and the event-loop lag with a
   heartbeat task (sleep 10 ms in a loop, record the overshoot). Target: max lag < 250 ms.

simcord allows one driver operation at a time (`member.slash` waits for the bot to settle), so
the burst emits the interactions with simcord's settle step deferred and then calls `env.settle()`
once: the bot sees N INTERACTION_CREATE events in a row, as from the gateway under load.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import sys
import time
from pathlib import Path

import _common as C

LAG_TARGET_MS = 250.0
HEARTBEAT_S = 0.010


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--calls", type=int, default=200, help="sequential /ask calls (default 200)")
    ap.add_argument("--burst", type=int, default=50, help="simultaneous users in the burst (default 50)")
    ap.add_argument("--bursts", type=int, default=3,
                    help="bursts per thread pool (default 3; medians and the worst lag are reported)")
    ap.add_argument("--workers", default="default",
                    help="thread pools to run the bursts with, comma-separated: 'default' is asyncio's "
                         "(min(32, cores+4) threads, what the bot uses today), a number sets "
                         "loop.set_default_executor(ThreadPoolExecutor(n)) "
                         "(default 'default'; e.g. 'default,1,2')")
    ap.add_argument("--expire-every", type=int, default=10,
                    help="advance simcord's virtual clock past the answer views' timeout every N "
                         "sequential calls (default 10), outside the timed part")
    ap.add_argument("--corpus", type=Path, default=C.BUNDLED_CORPUS)
    args = ap.parse_args()

    C.limit_threads()
    C.quiet_logs()
    try:
        from bot.discord_app import create_bot  # noqa: F401
    except Exception as exc:
        print(f"bot.discord_app is not usable: {exc.__class__.__name__}: {exc}")
        return 2
    work = C.make_tempdir("discord")
    try:
        pipeline = C.warmed_pipeline(args.corpus, work)
        return asyncio.run(_run(args, pipeline, work))
    finally:
        shutil.rmtree(work, ignore_errors=True)


def _settings(pipeline, work: Path):
    # No bound on answers at once (the bot's default of 4 would tell most of a burst "busy"): this
    # measures answering them all; benchmarks/ack_latency.py measures acknowledgements with the default.
    return C.discord_settings(pipeline.settings, max_concurrent_answers=10**6)


async def _run(args, pipeline, work: Path) -> int:
    import logging

    import simcord

    from bot.discord_app import create_bot

    logging.getLogger("discord").setLevel(logging.ERROR)
    settings = _settings(pipeline, work)
    bot = create_bot(settings, pipeline, command_state=work / "commands.json")
    questions = C.QUESTIONS
    C.header("discord_latency: /ask through discord.py + simcord")
    g = pipeline.generation
    print(f"corpus {args.corpus}: {len(g.articles)} articles, {len(g)} passages; "
          f"cooldown {settings.discord.cooldown_rate}/{settings.discord.cooldown_seconds:.0f}s per user "
          f"(every call below comes from a user who has not hit it)")
    rc = 0
    async with simcord.run(bot) as env:
        channel, member = C.bench_channel(env)

        # Warm-up (not counted): the first calls build discord.py's caches and the pipeline's lazy parts.
        for q in questions[:5]:
            r = await member().slash(channel, "ask", question=q)
            _embed(r)
            pipeline.ask(q)

        # 1. sequential round trips, each next to a direct pipeline.ask of the same question.
        members = [member() for _ in range(args.calls)]
        has_about = any(c.name == "about" for c in bot.tree.get_commands())
        rt_ms, direct_ms, about_ms, answered = [], [], [], 0
        for i in range(args.calls):
            q = questions[i % len(questions)]
            if i % args.expire_every == 0:
                # Not timed: let the answers' views time out (virtual time). Each /ask leaves a view
                # waiting for clicks for 14 minutes; simcord's settle() inspects every pending wait
                # on each turn, so hundreds of live views make the *harness* slower on every call
                # (O(n^2)), while discord.py itself keeps one cheap timer per view.
                await env.advance_time(_view_expiry())
            for which in ((0, 1, 2) if i % 2 == 0 else (2, 1, 0)):
                t = time.perf_counter()
                if which == 0:
                    r = await members[i].slash(channel, "ask", question=q)
                    dt = (time.perf_counter() - t) * 1000
                    rt_ms.append(dt)
                    answered += _embed(r) is not None
                elif which == 1:
                    pipeline.ask(q)
                    direct_ms.append((time.perf_counter() - t) * 1000)
                elif has_about:
                    # The Discord layer's own floor: a command that does no retrieval (one thread hop).
                    await members[i].slash(channel, "about")
                    about_ms.append((time.perf_counter() - t) * 1000)
        s_rt, s_d, s_ab = C.summary(rt_ms), C.summary(direct_ms), C.summary(about_ms or [float("nan")])
        print(f"\n1. sequential /ask, {args.calls} calls ({answered} answered with an embed)")
        print(f"{'':30}{'p50':>10}{'p95':>10}{'mean':>10}{'max':>10}")
        for label, st in (("/ask round trip (simcord)", s_rt), ("pipeline.ask direct", s_d),
                          ("/about round trip (no search)", s_ab)):
            print(f"{label:30}{st['p50']:10.2f}{st['p95']:10.2f}{st['mean']:10.2f}{st['max']:10.2f}   ms")
        print(f"{'ratio round trip / direct':30}{s_rt['p50'] / s_d['p50']:10.2f}"
              f"{s_rt['p95'] / s_d['p95']:10.2f}")
        print(f"{'added by the Discord layer':30}{s_rt['p50'] - s_d['p50']:10.2f}"
              f"{s_rt['p95'] - s_d['p95']:10.2f}   ms")
        if answered != args.calls:
            rc = 1

        # 2. bursts of simultaneous users, with each thread pool configuration.
        import concurrent.futures

        loop = asyncio.get_running_loop()
        worst: dict[str, float] = {}
        per_pool: dict[str, list] = {}
        print(f"\n2. burst: {args.burst} users at once, {args.bursts} bursts per thread pool "
              f"(heartbeat sleeps {HEARTBEAT_S * 1000:.0f} ms; lag = overshoot)")
        print(f"{'pool':>8}{'burst':>6}{'answered':>10}{'all done':>11}{'p50 done':>11}{'p95 done':>11}"
              f"{'answers/s':>11}{'serial':>10}{'done/serial':>12}{'max lag':>10}{'p99 lag':>10}{'beats':>7}")
        n = 0
        for label in [w.strip() for w in args.workers.split(",") if w.strip()]:
            workers = None if label == "default" else int(label)
            loop.set_default_executor(concurrent.futures.ThreadPoolExecutor(max_workers=workers))
            for b in range(args.bursts):
                await env.advance_time(_view_expiry())  # expire the previous answers' views (not timed)
                # Baseline next to each burst: the same questions answered one after another, directly.
                burst_q = [questions[(n * 7 + i) % len(questions)] for i in range(args.burst)]
                t = time.perf_counter()
                each = []
                for q in burst_q:
                    t1 = time.perf_counter()
                    pipeline.ask(q)
                    each.append((time.perf_counter() - t1) * 1000)
                serial = (time.perf_counter() - t) * 1000
                if os.environ.get("BENCH_DEBUG"):
                    print([round(x) for x in each])
                res = await _burst(env, channel, [member() for _ in range(args.burst)], burst_q)
                n += 1
                worst[label] = max(worst.get(label, 0.0), res["max_lag"])
                per_pool.setdefault(label, []).append((res, serial))
                print(f"{label:>8}{b + 1:>6}{res['answered']:>7}/{args.burst:<3}{res['total']:9.0f}ms"
                      f"{res['p50']:9.0f}ms{res['p95']:9.0f}ms{res['throughput']:11.1f}{serial:8.0f}ms"
                      f"{res['total'] / serial:12.2f}"
                      f"{res['max_lag']:8.1f}ms"
                      f"{res['p99_lag']:8.1f}ms{res['beats']:7d}")
                if res["answered"] != args.burst:
                    rc = 1
                if res["errors"]:
                    print(f"       errors: {res['errors'][:3]}")
        print(f"'serial' = the same {args.burst} questions through pipeline.ask one after another, just "
              f"before the burst;\n'done/serial' = cost of answering them concurrently through Discord "
              f"(1.0 = as fast as serial); 'done' times count from the first interaction emitted "
              f"(emission of {args.burst} took ~{res['emit_ms']:.0f} ms in the driver).")
        for label, runs in per_pool.items():
            med = lambda key, runs=runs: C.percentile([r[key] for r, _ in runs], 50)  # noqa: E731
            ratio = C.percentile([r["total"] / sr for r, sr in runs], 50)
            print(f"median over {len(runs)} bursts ({label} pool): all done {med('total'):.0f} ms, "
                  f"p50 done {med('p50'):.0f} ms, p95 done {med('p95'):.0f} ms, "
                  f"{med('throughput'):.1f} answers/s, done/serial {ratio:.2f}, "
                  f"max lag {med('max_lag'):.1f} ms")
        for label, lag in worst.items():
            print(f"target ({label} pool): event-loop lag < {LAG_TARGET_MS:.0f} ms -> worst {lag:.1f} ms "
                  f"{C.verdict(lag < LAG_TARGET_MS)}")
        print(f"target: all answered -> {C.verdict(rc == 0)}")
        errors = env.errors
        if errors:
            print(f"bot errors recorded by simcord: {len(errors)}, first: {errors[0]!r}")
            rc = 1
            env._errors_acknowledged = len(errors)
    return rc


def _view_expiry() -> float:
    try:
        from bot.discord_app.views import TIMEOUT

        return float(TIMEOUT) + 1
    except (ImportError, AttributeError):
        return 15 * 60.0


def _embed(result):
    resp = result.response
    if resp is None or not resp.embeds:
        return None
    return resp.embeds[0]


async def _burst(env, channel, members, burst_q: list[str], timeout_s: float = 300.0) -> dict:
    """Emit one /ask per member without settling in between, then settle once while measuring."""
    lags: list[float] = []
    done_at: dict[int, float] = {}
    stop = asyncio.Event()

    emitted = [float("inf")]

    async def heartbeat() -> None:
        while not stop.is_set():
            t = time.perf_counter()
            await asyncio.sleep(HEARTBEAT_S)
            # Beats that overlap the driver's emission of the interactions (simcord building and
            # validating payloads, not the bot) are left out.
            if t >= emitted[0]:
                lags.append((time.perf_counter() - t - HEARTBEAT_S) * 1000)

    async def watch(records, start: float) -> None:
        # Completion time of each interaction: its "thinking…" message stops loading when the
        # followup with the answer replaces it. Reading a flag: negligible work on the loop.
        while not stop.is_set():
            now = time.perf_counter()
            for i, rec in enumerate(records):
                if i not in done_at and rec.responded and not rec.loading:
                    done_at[i] = (now - start) * 1000
            await asyncio.sleep(0.005)

    beat = asyncio.create_task(heartbeat())
    await asyncio.sleep(0.05)  # a few beats before the burst: the idle baseline
    original = env._settle_internal

    async def no_settle(**_kw) -> None:
        return None

    results = []
    start = time.perf_counter()
    env._settle_internal = no_settle  # emit every interaction before the bot runs any
    try:
        for i, m in enumerate(members):
            results.append(await m.slash(channel, "ask", question=burst_q[i]))
    finally:
        env._settle_internal = original
    emitted[0] = time.perf_counter()
    records = [r._interaction for r in results]
    watcher = asyncio.create_task(watch(records, start))
    errors = []
    # The bot's tasks run on this loop whether or not the driver settles; simcord's settle() walks
    # every pending task's stack on each turn (0.1-0.4 s of loop time with 50 pending), which would
    # be counted as the bot's lag. So the driver only sleeps until every answer is in, then settles.
    deadline = time.perf_counter() + timeout_s
    while len(done_at) < len(records) and time.perf_counter() < deadline:
        await asyncio.sleep(0.02)
    total = max(done_at.values(), default=(time.perf_counter() - start) * 1000)
    stop.set()
    await asyncio.gather(beat, watcher)
    try:
        await env.settle(timeout=timeout_s)
    except Exception as exc:  # report, do not hide
        errors.append(f"{exc.__class__.__name__}: {exc}")
    answered = sum(1 for r in results if _embed(r) is not None)
    times = [done_at.get(i, total) for i in range(len(results))]
    return {
        "answered": answered,
        "total": total,
        "p50": C.percentile(times, 50),
        "p95": C.percentile(times, 95),
        "throughput": answered / (total / 1000) if total else 0.0,
        "max_lag": max(lags) if lags else float("nan"),
        "p99_lag": C.percentile(lags, 99),
        "beats": len(lags),
        "emit_ms": (emitted[0] - start) * 1000,
        "errors": errors,
    }


if __name__ == "__main__":
    sys.exit(main())
