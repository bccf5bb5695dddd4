"""The person's papers: agreement terms, receipts, declaração de quitação, document numbers."""
