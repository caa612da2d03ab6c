"""Outbound campaigns: the contact policy and a campaign's rules, summary and output, as pure
functions over arrays and frames (the store and the files are batch/'s)."""
