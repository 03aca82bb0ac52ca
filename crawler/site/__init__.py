"""What is true of the portal, whatever fetches it: URL shapes, the channel registry, listing
pages, charsets. Pure functions on strings and bytes: nothing here imports Scrapy."""
