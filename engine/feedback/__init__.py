"""Learning from 👍/👎: simulated voters, reading the votes database, retraining the embedding."""
