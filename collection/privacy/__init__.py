"""The person's LGPD rights: stopping a channel, correcting contacts, the data copy, retention."""
