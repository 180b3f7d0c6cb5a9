# Test recipe compute: the chef-client stand-in resolves it and records it.
log 'sco_test::compute'
