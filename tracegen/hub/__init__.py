"""What a dataset shows on the Hugging Face Hub and how it gets there: the card, its statistics and plots, `push`,
and the offline-safe check of Hub names (`names`)."""
