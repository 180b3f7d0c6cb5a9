"""Under-cloud deployer: Heat + Chef orchestration of HA OpenStack over-clouds."""
