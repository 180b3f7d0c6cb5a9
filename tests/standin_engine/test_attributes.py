"""Node attributes: precedence levels and Chef's two merge rules.

Follows docs.chef.io/attribute_precedence/ (attribute-file default < environment
default < role default < normal < attribute-file override < role override <
environment override < automatic) and lib/chef/node/attribute.rb
(merge_defaults / merge_overrides deep-merge arrays by union; between
precedence levels hash_only_merge! replaces arrays).
"""
import json


def _dump(tmp_path):
    return f"""
        file '{tmp_path}/attrs.json' do
          content lazy {{ JSON.pretty_generate(node['p'].to_hash) }}
        end
        """


def test_precedence_levels_and_array_merging(repo, tmp_path):
    repo.cookbook("a", attributes={"default": """
        default['p']['from_default'] = 'attribute file default'
        default['p']['env_beats_file'] = 'attribute file'
        default['p']['role_beats_env'] = 'attribute file'
        default['p']['normal_beats_role'] = 'attribute file'
        default['p']['override_beats_normal'] = 'attribute file'
        default['p']['auto_beats_all'] = 'attribute file'
        default['p']['default_list'] = %w(guest)
        default['p']['shrink_at_normal'] = %w(a b)
        override['p']['override_beats_normal'] = 'attribute file override'
        override['p']['override_list'] = %w(file)
        """}, recipes={"default": "require 'json'\n" + _dump(tmp_path)})
    repo.environment("prod", default={"p": {"env_beats_file": "environment default",
                                            "role_beats_env": "environment default",
                                            "default_list": []}},
                     override={"p": {"override_list": ["env"], "env_override": "environment override"}})
    repo.role("r", run_list=["recipe[a]"],
              default={"p": {"role_beats_env": "role default", "normal_beats_role": "role default",
                             "default_list": ["role"]}},
              override={"p": {"override_list": ["role"], "env_override": "role override"}})
    run = repo.run("role[r]", args=["-E", "prod"],
                   json_attribs={"p": {"normal_beats_role": "normal", "override_beats_normal": "normal",
                                       "shrink_at_normal": ["only"]}})
    assert run.returncode == 0, run.output
    merged = json.loads((tmp_path / "attrs.json").read_text())
    assert merged["from_default"] == "attribute file default"
    assert merged["env_beats_file"] == "environment default"
    assert merged["role_beats_env"] == "role default"
    assert merged["normal_beats_role"] == "normal"
    assert merged["override_beats_normal"] == "attribute file override"
    assert merged["env_override"] == "environment override"
    # Within the default components arrays are unioned: an environment's [] keeps 'guest'.
    assert merged["default_list"] == ["guest", "role"]
    # Within the override components too, in order attribute file, role, environment.
    assert merged["override_list"] == ["file", "role", "env"]
    # Between levels arrays are replaced: normal wins outright over default.
    assert merged["shrink_at_normal"] == ["only"]
    # The saved node keeps the levels apart, as Chef's does.
    assert run.node["normal"]["p"]["normal_beats_role"] == "normal"
    assert run.node["default"]["p"]["default_list"] == ["guest", "role"]
    assert run.node["automatic"]["roles"] == ["r"]


def test_automatic_attributes_come_from_ohai_and_beat_everything(repo, tmp_path):
    repo.cookbook("a", attributes={"default": "default['platform'] = 'not-debian'\n"},
                  recipes={"default": f"""
        file '{tmp_path}/auto' do
          content "#{{node['platform']}} #{{node['platform_family']}} #{{node['ipaddress']}} #{{node['hostname']}}"
        end
        """})
    run = repo.run("recipe[a]")
    assert run.returncode == 0, run.output
    platform, family, address, hostname = (tmp_path / "auto").read_text().split()
    assert (platform, family) == ("debian", "debian")
    assert address.count(".") == 3 and hostname
    assert run.node["automatic"]["platform"] == "debian"


def test_merged_attributes_are_read_only(repo, tmp_path):
    repo.cookbook("a", attributes={"default": "default['x']['y'] = 1\n"},
                  recipes={"default": "node['x']['y'] = 2\n"})
    run = repo.run("recipe[a]")
    assert run.returncode == 1
    assert "ImmutableAttributeModification" in run.last_line
    assert "a/recipes/default.rb:1" in run.last_line


def test_node_to_hash_carries_name_and_environment(repo, tmp_path):
    repo.environment("staging")
    repo.cookbook("a", recipes={"default": f"""
        file '{tmp_path}/ident' do
          content "#{{node.to_hash['name']}} #{{node.to_hash['chef_environment']}} #{{node.name}}"
        end
        """})
    run = repo.run("recipe[a]", args=["-E", "staging"])
    assert run.returncode == 0, run.output
    assert (tmp_path / "ident").read_text() == "engine-node staging engine-node"
