# frozen_string_literal: true

module Standin
  VERSION = '18.0.0-standin'
  # `chef-client --version` and the first output line say plainly what this is.
  VERSION_TEXT = "Chef Infra Client: #{VERSION} (STAND-IN for Chef Infra Client, which is in no " \
                 'registry reachable here; a test engine from tests/standin that executes recipes ' \
                 'for the DSL subset it implements and fails on anything else)'
end
