"""The rendering harness itself: Chef's attribute precedence, cookbook closure, ERB, errors."""
from __future__ import annotations

import textwrap

import pytest

from tests.chef_render import RenderError, call_helper, node_attributes, render

KEYS = ["file_default", "env_default", "role_default", "node_normal", "file_override", "role_override",
        "env_override", "automatic"]


@pytest.fixture
def cookbooks(tmp_path):
    """Two throwaway cookbooks: 'probe' depends on 'base'; each layer sets every key it may."""
    base = tmp_path / "base"
    (base / "attributes").mkdir(parents=True)
    (base / "metadata.rb").write_text("name 'base'\nversion '0.1.0'\n")
    (base / "attributes" / "default.rb").write_text("default['t']['from_base'] = 'base'\n")
    probe = tmp_path / "probe"
    for sub in ("attributes", "libraries", "templates/default"):
        (probe / sub).mkdir(parents=True)
    (probe / "metadata.rb").write_text("name 'probe'\nversion '0.1.0'\ndepends 'base'\n")
    (probe / "attributes" / "default.rb").write_text(textwrap.dedent("""\
        %w(file_default env_default role_default node_normal file_override role_override env_override automatic).each do |k|
          default['t'][k] = 'file_default'
        end
        %w(file_override role_override env_override automatic).each { |k| override['t'][k] = 'file_override' }
        default['t']['list'] = %w(a b)
        default['t']['default_list'] = %w(guest)
        override['t']['override_list'] = %w(file)
        default['t']['seen_base'] = node['t']['from_base']
        """))
    (probe / "libraries" / "helpers.rb").write_text(textwrap.dedent("""\
        module Probe
          module Helpers
            TEMPLATES = { 'probe.txt' => { source: 'probe.txt.erb', variables: :probe } }.freeze
            def self.probe(node, secret)
              { 'name' => node['name'], 'word' => secret.call('bag', 'item', 'key') }
            end
            def self.double(value)
              value * 2
            end
          end
        end
        """))
    (probe / "templates" / "default" / "probe.txt.erb").write_text(
        "<% [1, 2].each do |i| -%>\n<%= @name %>-<%= i %>\n<% end -%>\n<%= @word %> <%= node['t']['list'].join %>\n")
    return tmp_path


def layers():
    def values(*keys, level):
        return {"t": {k: level for k in keys}}
    env = {"name": "e",
           "default_attributes": {"t": {**values(*KEYS[1:], level="env_default")["t"], "default_list": []}},
           "override_attributes": {"t": {**values("env_override", "automatic", level="env_override")["t"],
                                         "override_list": ["env"]}}}
    role = {"name": "r", "run_list": ["recipe[probe]"],
            "default_attributes": {"t": {**values(*KEYS[2:], level="role_default")["t"], "default_list": ["role"]}},
            "override_attributes": {"t": {"role_override": "role_override", "env_override": "role_override",
                                          "automatic": "role_override", "list": ["z"],
                                          "override_list": ["role"]}}}
    node = {"name": "n1", "t": {"automatic": "automatic"},
            "normal": values("node_normal", "file_override", "role_override", "env_override", level="node_normal")}
    return env, role, node


def test_attribute_precedence_matches_chef(cookbooks):
    env, role, node = layers()
    attributes = node_attributes("probe", node=node, role=role, environment=env, cookbooks_dir=cookbooks)
    assert {k: attributes["t"][k] for k in KEYS} == {k: k for k in KEYS}
    assert attributes["t"]["list"] == ["z"], "arrays are replaced, not merged, across precedence levels"
    # Within the default components, and within the override ones, arrays are unioned
    # (Chef's lib/chef/node/attribute.rb merge_defaults / merge_overrides).
    assert attributes["t"]["default_list"] == ["guest", "role"], "an environment's [] cannot shrink a default"
    assert attributes["t"]["override_list"] == ["file", "role", "env"]
    assert attributes["t"]["seen_base"] == "base", "dependencies' attribute files load first"
    assert attributes["name"] == "n1" and attributes["chef_environment"] == "e"


def test_render_uses_the_registered_helper_and_secrets(cookbooks):
    env, role, node = layers()
    text = render("probe", "probe.txt", node=node, role=role, environment=env,
                  secrets={"bag": {"item": {"key": "s3cret"}}}, cookbooks_dir=cookbooks)
    assert text == "n1-1\nn1-2\ns3cret z\n"


def test_errors_name_the_problem(cookbooks):
    env, role, node = layers()
    with pytest.raises(RenderError, match="bag/item key 'key'"):
        render("probe", "probe.txt", node=node, role=role, environment=env, secrets={}, cookbooks_dir=cookbooks)
    with pytest.raises(RenderError, match=r"TEMPLATES has no 'nope' \(has: probe.txt\)"):
        render("probe", "nope", node=node, secrets={}, cookbooks_dir=cookbooks)
    with pytest.raises(RenderError, match="cookbook missing not found"):
        render("missing", "x", node=node, cookbooks_dir=cookbooks)
    with pytest.raises(RenderError, match="needs a 'name'|with a 'name'"):
        render("probe", "probe.txt", node={"ipaddress": "1.2.3.4"}, cookbooks_dir=cookbooks)


def test_call_helper_runs_a_library_function(cookbooks):
    assert call_helper("probe", "Probe::Helpers.double", 21, cookbooks_dir=cookbooks) == 42
    with pytest.raises(RenderError, match="has no function nothing"):
        call_helper("probe", "Probe::Helpers.nothing", cookbooks_dir=cookbooks)
