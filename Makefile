# Shortcuts for the two README commands (make is optional: the scripts are what counts).
.PHONY: run test
run:
	scripts/run.sh
test:
	scripts/test.sh
