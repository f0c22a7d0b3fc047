"""Running instances: start, complete, claim, message, cancel; one transaction each."""
