"""The one entry point: `Pipeline.ask(question, conversation) -> Answer`, used by the CLI and Discord."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

from bot.config import RetrievalSettings
from bot.core.answer.answerer import Answerer
from bot.core.index.build import build_index, is_stale
from bot.core.index.embedder import Embedder
from bot.core.index.store import Generation, IndexStore
from bot.core.search.question import analyse
from bot.core.search.retriever import Retriever
from bot.core.text import sentence_spans
from bot.errors import (
    BotError,
    BuildInProgress,
    CorpusError,
    DiskFull,
    EmptyQuestion,
    IndexCorrupt,
    IndexMissing,
    ModelMismatch,
    QuestionTooLong,
)
from bot.models import Answer, ArticleInfo, Citation, Conversation, IndexInfo, Passage, UpdateReport

log = logging.getLogger(__name__)
RELOAD_CHECK_SECONDS = 1.0


class Pipeline:
    """Retrieval and answering over the live index generation; safe to call from several threads."""

    def __init__(self, settings: RetrievalSettings, embedder: Embedder | None = None) -> None:
        self.settings = settings
        self.embedder = embedder or Embedder(settings.model, settings.query_prefix, settings.passage_prefix)
        self.store = IndexStore(settings.index_dir)
        self.retriever = Retriever(self.embedder)
        self.answerer = Answerer(settings.abstain_threshold)
        self._gen: Generation | None = None
        self._checked = 0.0
        # One switch to a newer generation at a time; held while it loads (see current_generation).
        self._switching = threading.Lock()

    # -- lifecycle -------------------------------------------------------------------------------

    def warm_up(self, build_if_needed: bool = True, progress: bool = False) -> UpdateReport | None:
        """Load the model and the index; build or update the index first when it is missing or stale.

        Returns the build report when a build happened, else None.
        """
        self.embedder.load()
        report = None
        if build_if_needed:
            try:
                if is_stale(self.store, self.settings, self.embedder.dimension):
                    log.info("The index is missing or older than the corpus: updating it")
                    report = self.update_index(progress=progress)
            except (BuildInProgress, CorpusError, DiskFull) as exc:
                if self.store.current_name() is None:
                    raise
                log.warning("%s Serving the current index.", exc.user_message)
        self._preload()
        if self._gen is None:
            try:
                self.reload()
            except (IndexCorrupt, IndexMissing) as exc:
                if not build_if_needed:
                    raise
                # A damaged index is never loaded: it is rebuilt from the corpus, which is the truth.
                log.warning("%s Rebuilding it from the corpus.", exc.user_message)
                report = self.update_index(rebuild=True, progress=progress)
            except ModelMismatch:
                if not build_if_needed:
                    raise
                log.warning("The index was built with another model: rebuilding it")
                report = self.update_index(rebuild=True, progress=progress)
        return report

    def _preload(self) -> None:
        # What the first question would otherwise load lazily (language identifier, sentence
        # splitters, stemmers, the model's first pass): up to a second, paid at start-up instead.
        analyse("Quelle est la question ? What is the question?")
        sentence_spans("Une phrase. Another one.", "fr")
        sentence_spans("One sentence. Another one.", "en")
        self.embedder.encode_queries(["warm-up"])

    def reload(self) -> Generation:
        """Load the live generation from disk and switch to it."""
        gen = self.store.load(self.settings.model, mmap=True, dimension=self.embedder.dimension)
        if gen.token_index is not None:
            gen.token_index.document_frequency  # counted here, not during the first question  # noqa: B018
        self._gen = gen  # one reference assignment: readers see the old or the new generation, whole
        return gen

    def update_index(
        self, rebuild: bool = False, progress: bool = False, on_written: Callable[[Path], None] | None = None
    ) -> UpdateReport:
        """Build a new generation (only one build at a time, across processes) and switch to it.

        Questions keep being answered from the current generation until the switch.
        """
        report = build_index(
            self.settings, self.embedder, rebuild=rebuild, progress=progress, on_written=on_written
        )
        self.reload()
        return report

    def current_generation(self, block: bool = True) -> Generation:
        """The live generation, switching to a newer one another process made live (checked at most
        once a second: one small file read).

        With block=False (the event loop) nothing is read or loaded in the calling thread: the check
        and the load of a newer generation run in a thread of their own, and the generation already
        in memory is returned until the new one is ready.
        """
        gen = self.generation
        now = time.monotonic()
        if now - self._checked < RELOAD_CHECK_SECONDS:
            return gen
        self._checked = now
        if block:
            # A worker thread may wait for a switch already under way: it then answers from the
            # new generation, and the generation is never loaded twice at once.
            with self._switching:
                return self._switch_if_newer()
        if self._switching.acquire(blocking=False):
            try:
                # A thread of its own, not the shared pool: a burst of questions can fill the pool,
                # and the switch must not wait behind it.
                threading.Thread(
                    target=self._switch_in_background, name="generation-switch", daemon=True
                ).start()
            except RuntimeError:  # no thread could be started: the next check tries again
                self._switching.release()
        return gen

    def _switch_if_newer(self) -> Generation:
        gen = self.generation
        try:
            if self.store.current_name() not in (None, gen.name):
                gen = self.reload()
        except BotError as exc:
            log.warning("Keeping generation %s: %s", gen.name, exc.user_message)
        return gen

    def _switch_in_background(self) -> None:
        try:
            self._switch_if_newer()
        except Exception:  # nobody awaits this thread: log, and keep the current generation
            log.exception("Could not switch to the new index generation; keeping %s", self.generation.name)
        finally:
            self._switching.release()

    @property
    def generation(self) -> Generation:
        """The live generation; raises IndexMissing before `warm_up`."""
        gen = self._gen
        if gen is None:
            raise IndexMissing(str(self.settings.index_dir))
        return gen

    # -- questions -------------------------------------------------------------------------------

    def check_question(self, question: str) -> str:
        """The question stripped, or a QuestionError saying what is wrong with it."""
        # Text from a terminal or a JSON file may hold lone surrogates that no tokenizer accepts.
        question = (question or "").encode("utf-8", "replace").decode("utf-8").strip()
        if not question:
            raise EmptyQuestion()
        if len(question) > self.settings.max_question_chars:
            raise QuestionTooLong(len(question), self.settings.max_question_chars)
        return question

    def ask(self, question: str, conversation: Conversation | None = None) -> Answer:
        """Answer a question about the articles; in a conversation, the previous question joins the search."""
        started = time.perf_counter()
        text = self.check_question(question)
        gen = self.current_generation()
        q = analyse(text, conversation)
        ranking = self.retriever.retrieve(gen, q, max(self.settings.citations, 3))
        answer = self.answerer.answer(gen, text, q.lang, ranking, self.settings.citations)
        return replace(answer, latency_ms=(time.perf_counter() - started) * 1000)

    def search(self, query: str, k: int = 5) -> list[Citation]:
        """The k passages closest to a query, with their ranking scores (no answer, no abstention)."""
        gen = self.current_generation()
        hits = self.retriever.retrieve(gen, analyse(self.check_question(query)), k).hits
        return [Citation(i + 1, h.passage, h.score, tuple(gen.paragraph(h.row))) for i, h in enumerate(hits)]

    # -- facts -----------------------------------------------------------------------------------

    def articles(self, block: bool = True) -> list[ArticleInfo]:
        """The indexed articles, sorted by id (block=False: from memory, see current_generation)."""
        return list(self.current_generation(block).articles.values())

    def passages(self, article_id: str, block: bool = True) -> list[Passage]:
        """The passages of one article in reading order (empty for an unknown id)."""
        return sorted(
            (p for p in self.current_generation(block).passages if p.article_id == article_id),
            key=lambda p: p.position,
        )

    def about(self, block: bool = True) -> IndexInfo:
        """Facts about the live index (block=False: from memory, see current_generation)."""
        gen = self.current_generation(block)
        m = gen.manifest
        return IndexInfo(
            articles=len(gen.articles),
            passages=len(gen),
            model=m["model"],
            dimension=m["dimension"],
            built_at=m["built_at"],
            generation=gen.name,
            faiss_index=m["faiss_index"],
        )
