# Test recipe default: the chef-client stand-in resolves it and records it.
log 'sco_test::default'
