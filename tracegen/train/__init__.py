"""tracegen's reference trainer: the attention masks of a context mode, masked SFT and GRPO."""
