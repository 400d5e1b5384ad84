"""What a dataset shows on the Hugging Face Hub and how it gets there: the card, its statistics and plots, `push`
(the offline-safe check of Hub names is the core leaf tracegen.hub_names)."""
