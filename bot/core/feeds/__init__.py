"""Following RSS and Atom feeds: the list of feeds (store), fetching them (fetch), polling (poll)."""
