"""The crawler's contact in its User-Agent: `CRAWLER_CONTACT`, which the operator fills in.

A site's operators who see an unknown crawler in their logs read its User-Agent for who runs it.
The project cannot know who will: the setting is empty until the operator sets it (README, "Before
the first live crawl"), and a crawl started without it warns. An add-on, because the User-Agent is
composed before Scrapy's components read it: `USER_AGENT` = `hebei-crawler/0.1 (news archive
research)` becomes `hebei-crawler/0.1 (news archive research; +CONTACT)`, and `-s
CRAWLER_CONTACT=...` works like the setting in crawler/settings.py.
"""

from __future__ import annotations

import logging

from scrapy.settings import BaseSettings

logger = logging.getLogger(__name__)


def with_contact(user_agent: str, contact: str) -> str:
    """`name/version (purpose)` and a contact: `name/version (purpose; +contact)`."""
    if user_agent.endswith(")"):
        return f"{user_agent[:-1]}; +{contact})"
    return f"{user_agent} (+{contact})"


class Contact:
    def update_settings(self, settings: BaseSettings) -> None:
        contact = str(settings.get("CRAWLER_CONTACT") or "").strip()
        user_agent = str(settings.get("USER_AGENT"))
        if not contact:
            logger.warning("CRAWLER_CONTACT is not set: the User-Agent %r tells the site's operators nobody to "
                           "reach. Set it before crawling the live site (README, \"Before the first live crawl\")",
                           user_agent)
            return
        if contact not in user_agent:
            settings.set("USER_AGENT", with_contact(user_agent, contact), priority=settings.getpriority("USER_AGENT") or 0)
