"""The bot's features, one cog each."""

from __future__ import annotations

from bot.discord_app.cogs.admin import AdminCog
from bot.discord_app.cogs.ask import AskCog
from bot.discord_app.cogs.chat import ChatCog
from bot.discord_app.cogs.feeds import FeedsCog
from bot.discord_app.cogs.library import LibraryCog

COGS = (AskCog, LibraryCog, ChatCog, AdminCog, FeedsCog)
