# Test recipe second: the chef-client stand-in resolves it and records it.
log 'sco_test::second'
