# Test recipe first: the chef-client stand-in resolves it and records it.
log 'sco_test::first'
