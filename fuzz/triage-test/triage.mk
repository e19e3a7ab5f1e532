# fuzz/triage-test/triage.mk: the campaign triage's own test (fuzz/triage-test/run.sh):
# crashes, hangs and unreproduced inputs of a fake campaign are all kept.
.PHONY: check-triage
check-triage:
	@./fuzz/triage-test/run.sh

CHECK_SUITES += check-triage
