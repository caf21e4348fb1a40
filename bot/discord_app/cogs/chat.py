"""Questions asked in chat: a mention, a direct message, or any message in a thread the bot opened.

Intents: Discord always gives a bot the text of direct messages and of messages that mention it,
so those work without the privileged message-content intent. Follow-ups written in the bot's
thread *without* mentioning it arrive with empty text unless the intent is enabled (in the
Developer Portal, and DISCORD_MESSAGE_CONTENT=true); without it, users mention the bot again.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
from typing import TYPE_CHECKING

import discord
from discord.ext import commands

from bot.discord_app import limits as L
from bot.discord_app.conversations import Session
from bot.discord_app.cooldown import BUSY
from bot.discord_app.errors import describe
from bot.discord_app.render import answer_embed
from bot.discord_app.sending import NO_MENTIONS, retry_text
from bot.discord_app.views import answer_view
from bot.errors import BotError

if TYPE_CHECKING:
    from bot.discord_app.bot import NewsBot

log = logging.getLogger(__name__)

HINT = "Ask me a question about the news articles, for example: “{mention} What did OpenAI sign with AMD?”"
# Threads opened for a question stay open a day without activity (Discord's choices: 1h, 1d, 3d, 1w).
THREAD_ARCHIVE_MINUTES = 1440


def strip_mentions(content: str, ids: set[int]) -> str:
    """The message text without mentions of the bot (user or managed-role mentions)."""
    for i in ids:
        content = re.sub(rf"<@[!&]?{i}>", " ", content)
    return L.one_line(content)


class ChatCog(commands.Cog):
    """Answers chat messages addressed to the bot."""

    def __init__(self, bot: NewsBot) -> None:
        self.bot = bot

    def _own_ids(self, message: discord.Message) -> set[int]:
        """The bot's user id, and its managed role's id in this server (users often mention that)."""
        assert self.bot.user is not None
        ids = {self.bot.user.id}
        role = message.guild.self_role if message.guild else None
        if role is not None:
            ids.add(role.id)
        return ids

    def _addressed(self, message: discord.Message) -> tuple[bool, bool]:
        """(addressed to the bot, mentions it)."""
        assert self.bot.user is not None
        mentioned = self.bot.user in message.mentions or any(
            r.id in self._own_ids(message) for r in message.role_mentions
        )
        if message.guild is None:
            return True, mentioned
        channel = message.channel
        # Only threads the bot opened: in someone else's thread it answers when mentioned.
        own_thread = isinstance(channel, discord.Thread) and channel.owner_id == self.bot.user.id
        return mentioned or own_thread, mentioned

    @commands.Cog.listener()
    async def on_message(self, message: discord.Message) -> None:
        """Answer a message addressed to the bot, in a thread when configured."""
        if message.author.bot or message.webhook_id is not None or self.bot.user is None:
            return
        addressed, mentioned = self._addressed(message)
        if not addressed:
            return
        question = strip_mentions(message.content, self._own_ids(message))
        limiter = self.bot.cooldown
        user = message.author.id
        if not question:
            # In the bot's own thread, an empty text usually means the content intent is off.
            if (mentioned or message.guild is None) and limiter.free_reply(user):
                await self._reply(message, HINT.format(mention=self.bot.user.mention))
            return
        try:
            # Checked first: a question the pipeline would refuse gets no thread and costs no turn.
            question = self.bot.pipeline.check_question(question)
        except BotError as error:
            if limiter.free_reply(user):
                await self._reply(message, error.user_message)
            return
        retry = limiter.hit(user)
        if retry is not None:
            if limiter.warn(user):
                await self._reply(message, retry_text(retry))
            return
        if not limiter.try_start():
            limiter.refund(user)
            if limiter.free_reply(user):
                await self._reply(message, BUSY)
            return
        try:
            channel, session = await self._place(message, question)
            try:
                await self._answer(message, channel, session, question)
            except Exception as error:  # noqa: BLE001 - every failure gets a reply; bugs are logged
                text = describe(error, "chat")
                with contextlib.suppress(discord.HTTPException):
                    await channel.send(L.shorten(text, L.CONTENT), allowed_mentions=NO_MENTIONS)
        finally:
            limiter.finish()

    async def _reply(self, message: discord.Message, text: str) -> None:
        """A short text reply to the asker's message, pinging nobody."""
        await message.reply(L.shorten(text, L.CONTENT), mention_author=False, allowed_mentions=NO_MENTIONS)

    async def _answer(
        self,
        message: discord.Message,
        channel: discord.abc.Messageable,
        session: Session | None,
        question: str,
    ) -> None:
        lock = session.lock if session else contextlib.nullcontext()
        async with lock:
            async with channel.typing():
                answer = await asyncio.to_thread(
                    self.bot.pipeline.ask, question, session.conversation if session else None
                )
            if session is not None:
                session.conversation.add(question, answer)
        view = await answer_view(answer, self.bot.feedback)
        if channel.id == message.channel.id:
            await message.reply(
                embed=answer_embed(answer), view=view, mention_author=False, allowed_mentions=NO_MENTIONS
            )
        else:
            await channel.send(embed=answer_embed(answer), view=view, allowed_mentions=NO_MENTIONS)

    async def _place(
        self, message: discord.Message, question: str
    ) -> tuple[discord.abc.Messageable, Session | None]:
        """Where to answer, and the conversation that goes with it (None for a one-off reply)."""
        channel = message.channel
        if message.guild is None or isinstance(channel, discord.Thread):
            return channel, self.bot.sessions.get(channel.id)
        if not self.bot.settings.discord.reply_in_thread:
            return channel, None
        try:
            thread = await message.create_thread(
                name=L.shorten(question, L.THREAD_NAME), auto_archive_duration=THREAD_ARCHIVE_MINUTES
            )
        except (discord.HTTPException, ValueError) as exc:
            # Missing "Create Public Threads", or a channel type without threads: answer in place.
            log.info("could not open a thread in channel %s (%s); replying in the channel", channel.id, exc)
            return channel, None
        return thread, self.bot.sessions.get(thread.id)
