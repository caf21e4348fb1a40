"""Command line: index | ask | chat | eval | ingest | run. JSON in and out for scripts."""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
import textwrap
from pathlib import Path
from typing import TextIO

from bot.config import Settings, describe_invalid
from bot.errors import BotError, QuestionError
from bot.models import Answer, Conversation, UpdateReport

log = logging.getLogger("bot")


def version() -> str:
    """The installed package's version, or bot.__version__ when running from a source tree."""
    from importlib.metadata import PackageNotFoundError
    from importlib.metadata import version as installed

    try:
        return installed("newsbot")
    except PackageNotFoundError:
        from bot import __version__

        return __version__


def _parser() -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument(
        "--corpus", type=Path, help="the articles folder (default: corpus/, or NEWSBOT_CORPUS_DIR)"
    )
    common.add_argument("--index", type=Path, help="the index folder (default: index/, or NEWSBOT_INDEX_DIR)")
    common.add_argument("--model", help="a sentence-transformers model name or path (NEWSBOT_MODEL)")
    common.add_argument("--citations", type=int, help="how many passages an answer cites (NEWSBOT_CITATIONS)")
    common.add_argument("--log-level", help="DEBUG, INFO, WARNING... (NEWSBOT_LOG_LEVEL)")

    p = argparse.ArgumentParser(
        prog="python -m bot", description="Answer questions about news articles, with cited passages."
    )
    p.add_argument("--version", action="version", version=f"newsbot {version()}")
    sub = p.add_subparsers(dest="command", required=True)
    s = sub.add_parser("index", parents=[common], help="build or update the index")
    s.add_argument("--rebuild", action="store_true", help="embed everything again instead of updating")
    s = sub.add_parser("ask", parents=[common], help="answer one question, or a JSONL file of them")
    s.add_argument("question", nargs="?", help="the question (omit with --batch)")
    s.add_argument("--json", action="store_true", help="print one JSON object")
    s.add_argument(
        "--batch", type=Path, help='a JSONL file: {"id", "question", "conversation"} a line ("-" for stdin)'
    )
    sub.add_parser("chat", parents=[common], help="an interactive chat in the terminal")
    s = sub.add_parser("eval", parents=[common], help="answer a question file and print the scores per kind")
    s.add_argument("questions", type=Path)
    s.add_argument("--json", action="store_true", help="print the scores as JSON")
    s = sub.add_parser(
        "ingest", parents=[common], help="add articles (files or URLs) to the corpus and update the index"
    )
    s.add_argument("sources", nargs="+", help="paths of .md/.txt/.html files, or http(s) URLs")
    s = sub.add_parser("feeds", help="follow news feeds (RSS, Atom): add, list, remove, poll")
    fsub = s.add_subparsers(dest="feeds_command", required=True)
    # The common flags go after the action: `feeds list --corpus DIR`.
    f = fsub.add_parser("add", parents=[common], help="follow a feed")
    f.add_argument("url")
    f = fsub.add_parser("remove", parents=[common], help="stop following a feed (its articles stay)")
    f.add_argument("url")
    fsub.add_parser("list", parents=[common], help="the followed feeds, with their last error")
    fsub.add_parser("poll", parents=[common], help="poll every feed now and update the index once")
    sub.add_parser("run", parents=[common], help="run the Discord bot (or the local chat without a token)")
    s = sub.add_parser("remove", parents=[common], help="remove articles (kept in corpus/.removed/) and update the index")
    s.add_argument("ids", nargs="+", help="article ids, as /articles lists them (e.g. openai-amd.md)")
    s = sub.add_parser("restore", parents=[common], help="bring removed articles back and update the index")
    s.add_argument("ids", nargs="+", help="ids of removed articles")
    return p


def load_settings(args: argparse.Namespace) -> Settings:
    """Settings from the environment and .env, overridden by the command line's flags."""
    settings = Settings()
    overrides = {
        "corpus_dir": args.corpus,
        "index_dir": args.index,
        "model": args.model,
        "citations": args.citations,
    }
    overrides = {k: v for k, v in overrides.items() if v is not None}
    if overrides:
        settings.retrieval = type(settings.retrieval).model_validate(
            {**settings.retrieval.model_dump(exclude_unset=True), **overrides}
        )
    if args.log_level:
        settings.log_level = args.log_level
    if not isinstance(logging.getLevelName(settings.log_level.upper()), int):
        # Described, not echoed: whatever was typed there could be a secret pasted in the wrong place.
        raise ValueError("log level (NEWSBOT_LOG_LEVEL or --log-level): use DEBUG, INFO, WARNING or ERROR")
    return settings


def setup_logging(level: str) -> None:
    """Logging to stderr, configured once; the CLI's own output goes to stdout."""
    import bm25s  # noqa: F401 - it sets its own logger to DEBUG on import: import it before taming it

    logging.basicConfig(level=level.upper(), format="%(levelname)s %(name)s: %(message)s", stream=sys.stderr)
    # These libraries are chatty at INFO about things a user cannot act on.
    for name in (
        "sentence_transformers",
        "transformers",
        "httpx",
        "filelock",
        "bm25s",
        "faiss",
        "discord.http",
    ):
        logging.getLogger(name).setLevel(logging.WARNING)


def _say(message: str) -> None:
    print(message, file=sys.stderr)


def describe_report(report: UpdateReport) -> str:
    """One paragraph on what a build changed."""
    if report.unchanged:
        head = "Index up to date"
    else:
        parts = [
            f"{len(v)} {k}"
            for k, v in (("added", report.added), ("changed", report.changed), ("removed", report.removed))
            if v
        ]
        head = "Index updated: " + ", ".join(parts)
    text = f"{head} ({report.passages_total} passages, {report.passages_embedded} embedded; generation {report.generation})."
    for s in report.skipped:
        text += f"\n  skipped {s}"
    return text


def _pipeline(settings: Settings, build: bool = True):
    from bot.core.pipeline import Pipeline

    pipeline = Pipeline(settings.retrieval)
    report = pipeline.warm_up(build_if_needed=build, progress=sys.stderr.isatty())
    if report is not None:
        _say(describe_report(report))
    return pipeline


def format_answer(answer: Answer) -> str:
    """The answer for a terminal: the short text, then the numbered citations."""
    lines = [answer.text]
    if answer.citations:
        lines.append("")
        lines.append("Sources :" if answer.lang == "fr" else "Sources:")
    for c in answer.citations:
        lines.append(f"[{c.number}] {c.passage.title} — {c.passage.article_id} (score {c.score:.3f})")
        lines.extend(textwrap.wrap(c.text, width=100, initial_indent="    ", subsequent_indent="    "))
    return "\n".join(lines)


def answer_batch(pipeline, lines: list[tuple[int, dict | None, str | None]], out: TextIO) -> int:
    """Answer batch lines, one JSON line out per line in; a conversation's turns are answered in order."""
    from bot.evaluation import answer_item, error_line

    conversations: dict[str, Conversation] = {}
    failures = 0
    for n, item, error in lines:
        if item is None:
            result = error_line(f"line-{n}", error or "unreadable line")
        else:
            result = answer_item(pipeline, item, conversations, item.get("id", f"line-{n}"))
        failures += "error" in result
        out.write(json.dumps(result, ensure_ascii=False) + "\n")
        out.flush()
    return 1 if failures else 0


def cmd_index(settings: Settings, args: argparse.Namespace) -> int:
    from bot.core.index.build import build_index
    from bot.core.index.embedder import Embedder

    s = settings.retrieval
    report = build_index(
        s,
        Embedder(s.model, s.query_prefix, s.passage_prefix),
        rebuild=args.rebuild,
        progress=sys.stderr.isatty(),
    )
    print(describe_report(report))
    return 0


def cmd_ask(settings: Settings, args: argparse.Namespace) -> int:
    if args.batch is None and args.question is None:
        _say("Give a question, or --batch FILE.jsonl.")
        return 2
    from bot.evaluation import read_jsonl

    # Read the input before the model loads: a bad file is reported at once.
    lines = read_jsonl(args.batch) if args.batch is not None else []
    pipeline = _pipeline(settings)
    if args.batch is not None:
        return answer_batch(pipeline, lines, sys.stdout)
    answer = pipeline.ask(args.question)
    print(json.dumps(answer.to_json(), ensure_ascii=False) if args.json else format_answer(answer))
    return 0


def cmd_chat(settings: Settings, args: argparse.Namespace) -> int:
    pipeline = _pipeline(settings)
    info = pipeline.about()
    print(
        f"{info.articles} articles, {info.passages} passages. Ask a question (French or English);"
        " /new starts a new conversation, /quit or Ctrl-D leaves."
    )
    conversation = Conversation()
    while True:
        try:
            question = input("> ")
        except (EOFError, KeyboardInterrupt):
            print()
            return 0
        if question.strip() in ("/quit", "/exit"):
            return 0
        if question.strip() == "/new":
            conversation = Conversation()
            print("New conversation.")
            continue
        try:
            answer = pipeline.ask(question, conversation)
        except QuestionError as exc:
            print(exc.user_message)
            continue
        conversation.add(answer.question, answer)
        print(format_answer(answer) + "\n")


def cmd_eval(settings: Settings, args: argparse.Namespace) -> int:
    from bot.evaluation import answer_all, format_scores, read_questions, score

    questions = read_questions(args.questions)
    pipeline = _pipeline(settings)
    scores = score(questions, answer_all(pipeline, questions))
    print(json.dumps(scores, ensure_ascii=False) if args.json else format_scores(scores))
    return 0


def cmd_ingest(settings: Settings, args: argparse.Namespace) -> int:
    from bot.core.ingest.add import ingest

    results = ingest(args.sources, settings.retrieval.corpus_dir, settings.ingest)
    from bot.core.ingest.fetch import redact_credentials

    failed = 0
    for typed, result in zip(args.sources, results, strict=True):
        source = redact_credentials(typed)  # the terminal may be logged or shared: no password in it
        if isinstance(result, BotError):
            failed += 1
            print(f"{source}: not added: {result.user_message}")
        elif result.status == "duplicate":
            print(f"{source}: already in the corpus as {result.duplicate_of or result.article_id}")
        else:
            print(f"{source}: {result.status} as {result.article_id} ({result.title})")
            from bot.core.audit import audit_path, record

            record(
                audit_path(settings.retrieval.corpus_dir), result.status, result.article_id, source,
                user_name=_os_user(),
            )
    if failed < len(results):
        from bot.core.index.build import build_index
        from bot.core.index.embedder import Embedder
        from bot.errors import BuildInProgress

        s = settings.retrieval
        try:
            report = build_index(
                s, Embedder(s.model, s.query_prefix, s.passage_prefix), progress=sys.stderr.isatty()
            )
        except BuildInProgress:
            # The running build updates again when the corpus changed under it (build.MAX_CATCH_UP):
            # the article is stored and will be indexed by it, so this is a success.
            print("Stored; an index build is already running and will index it when it has finished.")
        except BotError as exc:
            # Some messages (a full disk) already say to run it: not twice.
            then = "" if "python -m bot index" in exc.user_message else " Then run: python -m bot index"
            print(f"Stored but not yet indexed: {exc.user_message}{then}")
            return 1
        else:
            print(describe_report(report))
    return 1 if failed else 0


def describe_feed(feed) -> str:
    """One line per feed: its URL, channel, and the last error with its next try."""
    import datetime as dt

    line = feed.url + (f" (changelog in channel {feed.channel_id})" if feed.channel_id else "")
    if feed.last_error:
        line += f"\n  last error: {feed.last_error}"
        if feed.failures and feed.next_try:
            when = dt.datetime.fromtimestamp(feed.next_try, dt.UTC).strftime("%Y-%m-%d %H:%M UTC")
            line += f" (failed {feed.failures} time{'s' if feed.failures != 1 else ''}; next try {when})"
    return line


def cmd_feeds(settings: Settings, args: argparse.Namespace) -> int:
    from bot.core.feeds import store

    corpus = settings.retrieval.corpus_dir
    path = store.feeds_path(corpus, settings.feeds.file)
    if args.feeds_command == "add":
        feed = store.add(path, args.url, added_by="cli")
        print(f"Following {feed.url}.")
        return 0
    if args.feeds_command == "remove":
        feed = store.remove(path, args.url)
        print(f"No longer following {feed.url} (its articles stay in the corpus).")
        return 0
    if args.feeds_command == "list":
        feeds = store.load(path)
        print("\n".join(describe_feed(f) for f in feeds) if feeds else "No feeds are followed.")
        return 0
    from bot.core.feeds.poll import poll_feeds

    report = poll_feeds(corpus, settings.ingest, settings.feeds, force=True)
    for o in report.outcomes:
        status = "not modified" if o.not_modified else f"{len(o.articles)} added or updated"
        print(f"{o.feed.url}: {status}" + (f"; {o.error}" if o.error else ""))
    if report.changed:
        from bot.core.index.build import build_index
        from bot.core.index.embedder import Embedder

        s = settings.retrieval
        report_ = build_index(s, Embedder(s.model, s.query_prefix, s.passage_prefix), progress=sys.stderr.isatty())
        print(describe_report(report_))
    return 1 if any(o.error and o.feed.failures for o in report.outcomes) else 0


def _os_user() -> str | None:
    """Who runs the command, for the change log (None when the system cannot tell)."""
    import getpass

    try:
        return getpass.getuser()
    except (KeyError, OSError):  # no login name and no passwd entry (some containers)
        return None


def _reindex(settings: Settings) -> None:
    """Update the index from the corpus, and print what changed."""
    from bot.core.index.build import build_index
    from bot.core.index.embedder import Embedder

    s = settings.retrieval
    report = build_index(s, Embedder(s.model, s.query_prefix, s.passage_prefix), progress=sys.stderr.isatty())
    print(describe_report(report))


def cmd_remove(settings: Settings, args: argparse.Namespace) -> int:
    from bot.core.audit import audit_path, record
    from bot.core.ingest.remove import REMOVED_DIR, remove_articles

    corpus = settings.retrieval.corpus_dir
    removed = remove_articles(corpus, args.ids)
    for article_id in removed:
        record(audit_path(corpus), "removed", article_id, article_id, user_name=_os_user())
        print(f"{article_id}: removed (kept in {corpus / REMOVED_DIR / article_id})")
    _reindex(settings)
    return 0


def cmd_restore(settings: Settings, args: argparse.Namespace) -> int:
    from bot.core.audit import audit_path, record
    from bot.core.ingest.remove import restore_articles

    corpus = settings.retrieval.corpus_dir
    for article_id in restore_articles(corpus, args.ids):
        record(audit_path(corpus), "restored", article_id, article_id, user_name=_os_user())
        print(f"{article_id}: restored")
    _reindex(settings)
    return 0


NO_TOKEN_NO_TERMINAL = (
    "No Discord token (DISCORD_TOKEN) and no terminal: set DISCORD_TOKEN to run the bot"
    " (the local chat fallback is for terminals)."
)


def cmd_run(settings: Settings, args: argparse.Namespace) -> int:
    if settings.discord.token is None or not settings.discord.token.get_secret_value().strip():
        # In a container or a service nobody types: falling back to the chat would read
        # end-of-input and exit 0, so a broken deployment would look healthy.
        if not sys.stdin.isatty():
            _say(NO_TOKEN_NO_TERMINAL)
            return 1
        _say(
            "No Discord token (DISCORD_TOKEN): starting the local chat on the corpus instead.\n"
            "To connect the bot to Discord, put DISCORD_TOKEN=... in the environment or in .env and run again."
        )
        return cmd_chat(settings, args)
    from bot.discord_app import run_bot
    from bot.preflight import check_run

    # Before loading anything: a read-only volume should be one line, not a traceback minutes later.
    check_run(settings.retrieval.index_dir, settings.discord.health_file)
    return run_bot(settings)


COMMANDS = {
    "index": cmd_index,
    "ask": cmd_ask,
    "chat": cmd_chat,
    "eval": cmd_eval,
    "ingest": cmd_ingest,
    "feeds": cmd_feeds,
    "run": cmd_run,
    "remove": cmd_remove,
    "restore": cmd_restore,
}


def main(argv: list[str] | None = None) -> int:
    """Entry point of `python -m bot`; returns the process exit code."""
    args = _parser().parse_args(argv)
    try:
        settings = load_settings(args)
    except Exception as exc:  # pydantic's ValidationError: a bad environment value
        _say(f"Invalid configuration: {describe_invalid(exc)}")
        return 2
    # The running bot logs what it does; a one-shot command only shows problems unless asked.
    explicit = args.log_level or "NEWSBOT_LOG_LEVEL" in os.environ or settings.log_level.upper() != "INFO"
    setup_logging(settings.log_level if explicit or args.command == "run" else "WARNING")
    try:
        return COMMANDS[args.command](settings, args)
    except BotError as exc:
        _say(exc.user_message)
        return 1
    except KeyboardInterrupt:
        return 130
