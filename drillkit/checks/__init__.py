"""Per-drill checks. They run in the child process, after the learner's file."""
